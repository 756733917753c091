//! The storage contract: what every backend must do, as tests that take a fresh database. The
//! SQLite tests run them always, the PostgreSQL tests against a real server.

use super::*;
use crate::calendar::Calendar;
use crate::git::{GitEvent, GitEventKind};
use crate::model::{Category, Source};
use crate::report::{self, Dim, Filters, Query, rollup};
use crate::timeline::Rules;
use jiff::tz::TimeZone;
use std::sync::Arc;

/// Makes a fresh, empty database for one case.
pub type Make<'a> = &'a dyn Fn() -> Arc<dyn Database>;

/// Every case, each on its own database.
pub fn all(make: Make) {
    type Case = (&'static str, fn(Make));
    let cases: &[Case] = &[
        ("duplicates_are_stored_once", duplicates_are_stored_once),
        ("heartbeats_round_trip", heartbeats_round_trip),
        ("ties_are_ordered_by_id", ties_are_ordered_by_id),
        ("rollups_follow_writes", rollups_follow_writes),
        (
            "a_mark_during_a_refresh_survives",
            a_mark_during_a_refresh_survives,
        ),
        ("changed_rules_reset_rollups", changed_rules_reset_rollups),
        ("users_and_settings", users_and_settings),
        ("keys", keys),
        (
            "removing_a_user_removes_their_data",
            removing_a_user_removes_their_data,
        ),
        ("git_records", git_records),
        ("intervals", intervals),
        (
            "intervals_are_edited_and_removed",
            intervals_are_edited_and_removed,
        ),
        ("forget_by_project_and_range", forget_by_project_and_range),
        ("forget_by_entity_pattern", forget_by_entity_pattern),
        ("synced_corrections", synced_corrections),
        ("watch_roots", watch_roots),
        ("snapshots_are_consistent", snapshots_are_consistent),
        ("ai_fields_round_trip", ai_fields_round_trip),
        ("ai_counts_and_actors", ai_counts_and_actors),
        ("focus_sessions", focus_sessions),
    ];
    for (name, case) in cases {
        eprintln!("storage contract: {name}");
        case(make);
    }
}

/// A user for the test (PostgreSQL databases start with none) and their scope.
fn tester(w: &mut dyn Store) -> Scope {
    let user = w.add_user("tester", &UserSettings::default(), 0).unwrap();
    utc_scope(user.id)
}

pub fn utc_scope(user: UserId) -> Scope {
    Scope {
        user,
        calendar: Calendar::new(TimeZone::UTC),
        rules: Rules::timeforged(15 * 60_000),
    }
}

pub fn hb(t: f64, project: &str) -> Heartbeat {
    let mut h = Heartbeat::new(t, format!("/src/{project}/main.rs"));
    h.project = Some(project.into());
    h.language = Some("Rust".into());
    h
}

fn insert(w: &mut dyn Store, scope: &Scope, beats: &[Heartbeat]) -> Vec<Stored> {
    w.insert(&[Batch::local(scope, beats)]).unwrap().remove(0)
}

fn total(db: &dyn Database, scope: &Scope, rollups: bool) -> i64 {
    read(db, |snap| {
        let q = Query {
            start_ms: 0,
            end_ms: 40 * 86_400_000,
            by: &[Dim::Project],
            filters: &Filters::default(),
            rules: scope.rules,
            rollups_usable: rollups,
            user_id: scope.user,
        };
        report::report(snap, &scope.calendar, &q)
    })
    .map(|r| (r.total_seconds * 1000.0).round() as i64)
    .unwrap()
}

fn refresh_all(w: &mut dyn Store, scope: &Scope) {
    let s = scope.clone();
    rollup::refresh(
        w,
        &mut |_| Some(s.clone()),
        Some(scope.user),
        (DayNum::MIN, DayNum::MAX),
        usize::MAX,
    )
    .unwrap();
}

fn dirty(db: &dyn Database, user: UserId) -> Vec<DayNum> {
    read(db, |s| s.dirty_days(user, DayNum::MIN, DayNum::MAX)).unwrap()
}

fn duplicates_are_stored_once(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let batch = vec![hb(100.0, "a"), hb(100.0, "a"), hb(160.0, "a")];
    assert_eq!(
        insert(&mut *w, &s, &batch),
        vec![Stored::New, Stored::Duplicate, Stored::New]
    );
    assert_eq!(insert(&mut *w, &s, &batch), vec![Stored::Duplicate; 3]);
    assert_eq!(read(&*db, |s| s.heartbeat_count()).unwrap(), 2);
    // The same heartbeat of another user is theirs.
    let bob = w.add_user("bob", &UserSettings::default(), 0).unwrap();
    assert_eq!(
        insert(&mut *w, &utc_scope(bob.id), &batch[..1]),
        vec![Stored::New]
    );
    // Several users in one transaction.
    let out = w
        .insert(&[
            Batch::local(&s, &[hb(200.0, "a")]),
            Batch::local(&utc_scope(bob.id), &[hb(200.0, "a")]),
        ])
        .unwrap();
    assert_eq!(out, vec![vec![Stored::New], vec![Stored::New]]);
}

fn heartbeats_round_trip(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let mut h = hb(1_700_000_000.123, "p");
    h.branch = Some("main".into());
    h.is_write = true;
    h.lines = Some(10);
    h.lineno = Some(3);
    h.cursorpos = Some(44);
    h.dependencies = vec!["serde".into(), "tokio".into()];
    h.machine = Some("box".into());
    h.editor = Some("vim".into());
    h.os = Some("Linux".into());
    h.user_agent = Some("ua".into());
    h.source = Some(Source::Editor);
    h.category = Category::parse("debugging").unwrap();
    h.meta = serde_json::json!({"ticket": "ABC-1", "n": 2})
        .as_object()
        .cloned();
    let me = tester(&mut *w).user;
    insert(&mut *w, &utc_scope(me), std::slice::from_ref(&h));
    let got = read(&*db, |snap| {
        let mut got = vec![];
        snap.heartbeats(me, 0, i64::MAX, &mut |h| {
            got.push(h);
            true
        })?;
        Ok(got)
    })
    .unwrap();
    assert_eq!(got, vec![h.clone()]);
    let latest = read(&*db, |s| s.latest(me, i64::MAX)).unwrap();
    assert_eq!(latest, Some(h.clone()));
    assert_eq!(
        read(&*db, |s| s.first_time(me)).unwrap(),
        Some(1_700_000_000_123)
    );
    // Only heartbeats that list dependencies, within the range, in time order.
    let mut other = hb(1_700_000_100.0, "p");
    other.entity = "/other.rs".into();
    let mut later = other.clone();
    later.time = 1_700_000_050.0;
    later.dependencies = vec!["jiff".into()];
    insert(&mut *w, &utc_scope(me), &[other, later]);
    let deps = |start: i64, end: i64| {
        read(&*db, |s| {
            let mut got = vec![];
            s.dependencies(me, start, end, &mut |t, e, d| {
                got.push((t, e.to_string(), d))
            })?;
            Ok(got)
        })
        .unwrap()
    };
    assert_eq!(
        deps(0, i64::MAX),
        [
            (1_700_000_000_123, h.entity.clone(), h.dependencies.clone()),
            (
                1_700_000_050_000,
                "/other.rs".to_string(),
                vec!["jiff".to_string()]
            ),
        ]
    );
    assert_eq!(deps(1_700_000_000_124, 1_700_000_050_000), []);
}

/// Heartbeats sharing one millisecond come out ordered by id, whatever the insert order, so
/// the credit of the gap after them never depends on a backend's scan order.
fn ties_are_ordered_by_id(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let me = s.user;
    let tied: Vec<Heartbeat> = ["x", "y", "z", "w"].iter().map(|p| hb(1000.0, p)).collect();
    let mut ids: Vec<i64> = tied.iter().map(Heartbeat::id).collect();
    for h in tied.iter().rev() {
        insert(&mut *w, &s, std::slice::from_ref(h));
    }
    insert(&mut *w, &s, &[hb(1060.0, "end")]);
    ids.sort();
    let order = read(&*db, |snap| {
        let mut got = Vec::new();
        snap.heartbeats(me, 0, i64::MAX, &mut |h| {
            got.push(h.id());
            true
        })?;
        Ok(got)
    })
    .unwrap();
    assert_eq!(&order[..4], &ids[..]);
    // The minute after the tie goes to the last of them in (time, id) order.
    let winner = tied.iter().find(|h| h.id() == ids[3]).unwrap();
    let rep = read(&*db, |snap| {
        report::report(
            snap,
            &s.calendar,
            &Query {
                start_ms: 0,
                end_ms: 86_400_000,
                by: &[Dim::Project],
                filters: &Filters::default(),
                rules: s.rules,
                rollups_usable: false,
                user_id: me,
            },
        )
    })
    .unwrap();
    assert_eq!(rep.by[0].1.len(), 1, "{rep:?}");
    assert_eq!(Some(&rep.by[0].1[0].name), winner.project.as_ref());
}

fn rollups_follow_writes(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let me = s.user;
    let day = 86_400.0;
    // 10 minutes on day 1 ending 5 minutes past midnight.
    insert(&mut *w, &s, &[hb(day - 300.0, "a"), hb(day + 300.0, "a")]);
    assert!(!dirty(&*db, me).is_empty());
    assert_eq!(total(&*db, &s, true), 600_000, "dirty days count live");
    refresh_all(&mut *w, &s);
    assert!(dirty(&*db, me).is_empty());
    let per_day = read(&*db, |snap| {
        let mut rows = Vec::new();
        snap.rollups(me, Rollup::Daily, 0, i32::MAX, &mut |d, _, ms| {
            rows.push((d, ms))
        })?;
        Ok(rows)
    })
    .unwrap();
    let mut per_day = per_day;
    per_day.sort();
    assert_eq!(per_day, vec![(19700101, 300_000), (19700102, 300_000)]);
    assert_eq!(total(&*db, &s, true), 600_000);
    // A later insert re-dirties the day, and the rollup follows.
    insert(&mut *w, &s, &[hb(day + 360.0, "a")]);
    refresh_all(&mut *w, &s);
    assert_eq!(total(&*db, &s, true), 660_000);
    // A manual interval wins over the heartbeat time it covers.
    let iv = Interval {
        start: day,
        end: day + 3600.0,
        project: "meeting".into(),
        branch: None,
        category: Category::default(),
        note: None,
    };
    w.add_interval(&s, &iv, 0, &UNSYNCED).unwrap();
    assert_eq!(total(&*db, &s, true), 300_000 + 3_600_000);
    refresh_all(&mut *w, &s);
    assert_eq!(total(&*db, &s, true), 300_000 + 3_600_000);
    assert_eq!(total(&*db, &s, false), 300_000 + 3_600_000);
    let (files, none) = read(&*db, |snap| {
        let (mut files, mut none) = (0, 0);
        snap.rollups(me, Rollup::Entities, 0, i32::MAX, &mut |_, d, ms| {
            if d.entity == 0 {
                none += ms
            } else {
                files += ms
            }
        })?;
        Ok((files, none))
    })
    .unwrap();
    assert_eq!(
        (files, none),
        (300_000, 3_600_000),
        "manual time has no file"
    );
}

/// A day marked dirty again while it is being refreshed stays dirty (READ COMMITTED backends
/// would otherwise lose the mark).
fn a_mark_during_a_refresh_survives(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let me = s.user;
    insert(&mut *w, &s, &[hb(1000.0, "a"), hb(1060.0, "a")]);
    let days = w.dirty(Some(me), DayNum::MIN, DayNum::MAX, 100).unwrap();
    let today = *days.iter().find(|d| d.day == 19700101).unwrap();
    // Marked again after the refresh read its mark.
    insert(&mut *w, &s, &[hb(1120.0, "a")]);
    w.refresh_day(today, &mut |snap| rollup::compute_day(snap, &s, today.day))
        .unwrap();
    assert!(dirty(&*db, me).contains(&19700101));
    assert_eq!(total(&*db, &s, true), 120_000);
    refresh_all(&mut *w, &s);
    assert!(dirty(&*db, me).is_empty());
    assert_eq!(total(&*db, &s, true), 120_000);
}

fn changed_rules_reset_rollups(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let me = s.user;
    assert!(rollup::ensure_rules(&mut *w, &s).unwrap(), "no rules yet");
    insert(&mut *w, &s, &[hb(1000.0, "a"), hb(1300.0, "a")]);
    refresh_all(&mut *w, &s);
    assert!(!rollup::ensure_rules(&mut *w, &s).unwrap());
    let short = Scope {
        rules: Rules::timeforged(60_000),
        ..s.clone()
    };
    assert!(rollup::ensure_rules(&mut *w, &short).unwrap());
    assert_eq!(dirty(&*db, me), vec![19700101, 19700102]);
    refresh_all(&mut *w, &short);
    assert_eq!(total(&*db, &short, true), 0);
    let berlin = Scope {
        calendar: Calendar::new(TimeZone::get("Europe/Berlin").unwrap()),
        ..s
    };
    assert!(rollup::ensure_rules(&mut *w, &berlin).unwrap());
}

fn users_and_settings(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let settings = UserSettings {
        time_zone: Some("Europe/Berlin".into()),
        timeout_minutes: Some(10),
        preset: Some(crate::config::Preset::Wakapi),
        week_start: Some(crate::config::WeekStart::Sunday),
    };
    let alice = w.add_user("alice", &settings, 42).unwrap();
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.settings, settings);
    assert_eq!(alice.created_ms, 42);
    let err = w
        .add_user("alice", &UserSettings::default(), 0)
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = w.add_user("a b", &UserSettings::default(), 0).unwrap_err();
    assert!(err.to_string().contains("invalid user name"), "{err}");
    w.set_settings(alice.id, &UserSettings::default()).unwrap();
    w.rename_user(alice.id, "alicia").unwrap();
    let got = read(&*db, |s| s.user_by_id(alice.id)).unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.settings.clone()),
        ("alicia", UserSettings::default())
    );
    assert_eq!(read(&*db, |s| s.user_by_name("alice")).unwrap(), None);
    let names: Vec<String> = read(&*db, |s| s.users())
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert!(names.contains(&"alicia".to_string()), "{names:?}");
}

fn keys(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let alice = w.add_user("alice", &UserSettings::default(), 0).unwrap();
    let (k1, k2) = (crate::apikey::hash("k1"), crate::apikey::hash("k2"));
    let a = w.add_key(alice.id, &k1, Some("laptop"), false, 5).unwrap();
    let b = w.add_key(alice.id, &k2, None, true, 6).unwrap();
    let (key, user) = read(&*db, |s| s.key_by_hash(&k2)).unwrap().unwrap();
    assert_eq!((key.id, key.read_only, user.id), (b.id, true, alice.id));
    assert_eq!(
        read(&*db, |s| s.keys(alice.id)).unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(w.revoke_keys(KeySelector::Id(a.id)).unwrap(), 1);
    assert_eq!(read(&*db, |s| s.key_by_hash(&k1)).unwrap(), None);
    assert_eq!(w.revoke_keys(KeySelector::Id(a.id)).unwrap(), 0);
    w.add_key(alice.id, &k1, Some("laptop"), false, 7).unwrap();
    assert_eq!(
        w.revoke_keys(KeySelector::OfUser {
            user: alice.id,
            label: Some("laptop")
        })
        .unwrap(),
        1
    );
    assert!(read(&*db, |s| s.key_by_hash(&k2)).unwrap().is_some());
    assert_eq!(
        w.revoke_keys(KeySelector::OfUser {
            user: alice.id,
            label: None
        })
        .unwrap(),
        1
    );
    assert!(read(&*db, |s| s.keys(alice.id)).unwrap().is_empty());
}

fn removing_a_user_removes_their_data(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let bob = w.add_user("bob", &UserSettings::default(), 0).unwrap();
    let (s1, sb) = (tester(&mut *w), utc_scope(bob.id));
    insert(&mut *w, &s1, &[hb(1000.0, "a"), hb(1060.0, "a")]);
    insert(&mut *w, &sb, &[hb(1000.0, "b"), hb(1060.0, "b")]);
    w.add_key(bob.id, &crate::apikey::hash("bob"), None, false, 0)
        .unwrap();
    refresh_all(&mut *w, &sb);
    w.remove_user(bob.id).unwrap();
    assert_eq!(total(&*db, &sb, true), 0);
    assert_eq!(total(&*db, &s1, true), 60_000);
    assert_eq!(read(&*db, |s| s.heartbeat_count()).unwrap(), 2);
    assert_eq!(read(&*db, |s| s.user_by_name("bob")).unwrap(), None);
    assert_eq!(
        read(&*db, |s| s.key_by_hash(&crate::apikey::hash("bob"))).unwrap(),
        None
    );
}

fn git_records(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let me = tester(&mut *w).user;
    let event = |kind, branch: &str, head: &str| GitEvent {
        kind,
        time: 0.0,
        repo: "/r".into(),
        head: Some(head.into()),
        branch: Some(branch.into()),
        summary: None,
        rewrite: None,
        rewritten: Vec::new(),
    };
    let sha = |c: char| c.to_string().repeat(40);
    let r = w
        .record_git(
            me,
            "p",
            &event(GitEventKind::Checkout, "main", &sha('a')),
            1000,
            &UNSYNCED,
        )
        .unwrap();
    assert!(r.switched);
    let r = w
        .record_git(
            me,
            "p",
            &event(GitEventKind::Checkout, "main", &sha('a')),
            2000,
            &UNSYNCED,
        )
        .unwrap();
    assert!(!r.switched, "same branch is no switch");
    let r = w
        .record_git(
            me,
            "p",
            &event(GitEventKind::Commit, "main", &sha('b')),
            3000,
            &UNSYNCED,
        )
        .unwrap();
    assert_eq!(r.commits, 1);
    w.record_git(
        me,
        "p",
        &event(GitEventKind::Commit, "main", &sha('c')),
        5000,
        &UNSYNCED,
    )
    .unwrap();
    let commits = read(&*db, |s| s.commits(me, 0, 10_000, Some("p"), None)).unwrap();
    assert_eq!(commits.len(), 2);
    assert_eq!(commits[0].sha, sha('b'));
    assert_eq!(
        read(&*db, |s| s.previous_commit_time(
            me,
            "p",
            Some("main"),
            5000
        ))
        .unwrap(),
        Some(3000)
    );
    assert_eq!(
        read(&*db, |s| s.last_branch(me, "p")).unwrap(),
        Some(("main".to_string(), 1000))
    );
    let mut h = hb(1.0, "p");
    h.branch = Some("main".into());
    insert(&mut *w, &utc_scope(me), &[h]);
    let act = read(&*db, |s| s.branch_activity(me, 0, 10_000)).unwrap();
    assert_eq!(act.len(), 1);
    assert_eq!((act[0].2, act[0].3), (1000, 1000));
}

fn intervals(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let me = s.user;
    let iv = Interval {
        start: 3600.0,
        end: 7200.0,
        project: "standup".into(),
        branch: Some("b".into()),
        category: Category::parse("meeting").unwrap(),
        note: Some("daily".into()),
    };
    let (id, new) = w.add_interval(&s, &iv, 0, &UNSYNCED).unwrap();
    assert!(new);
    assert_eq!(w.add_interval(&s, &iv, 0, &UNSYNCED).unwrap(), (id, false));
    let got = read(&*db, |snap| snap.intervals(me, 0, 86_400_000)).unwrap();
    assert_eq!(got, vec![(id, iv)]);
    let spans = read(&*db, |snap| snap.interval_spans(me, 0, 86_400_000)).unwrap();
    assert_eq!((spans[0].start_ms, spans[0].end_ms), (3_600_000, 7_200_000));
    assert_eq!(total(&*db, &s, true), 3_600_000);
}

fn journaled(db: &dyn Database) -> Vec<Record> {
    read(db, |s| s.journal(None, 0, 1000, None))
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.record)
        .collect()
}

const SYNCED: Provenance = Provenance {
    origin: None,
    journal: true,
};

fn intervals_are_edited_and_removed(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let iv = |start: f64, end: f64, project: &str| Interval {
        start,
        end,
        project: project.into(),
        branch: None,
        category: Category::CODING,
        note: None,
    };
    let a = iv(3600.0, 7200.0, "a");
    let (id, _) = w.add_interval(&s, &a, 0, &SYNCED).unwrap();
    let (other, _) = w
        .add_interval(&s, &iv(0.0, 600.0, "b"), 0, &UNSYNCED)
        .unwrap();
    refresh_all(&mut *w, &s);
    assert_eq!(total(&*db, &s, true), 3_600_000 + 600_000);

    // An edit keeps the id, moves the time, and the rollups follow.
    let moved = Interval {
        note: Some("review".into()),
        ..iv(86_400.0 + 3600.0, 86_400.0 + 5400.0, "a2")
    };
    let out = w
        .edit_interval(&s, IntervalRef::Id(id), Some(&moved), &SYNCED)
        .unwrap();
    assert_eq!(out, IntervalEdit::Done { id, old: a.clone() });
    let days = dirty(&*db, s.user);
    assert_eq!(days, vec![19700101, 19700102]);
    assert_eq!(total(&*db, &s, true), 1_800_000 + 600_000);
    refresh_all(&mut *w, &s);
    assert_eq!(total(&*db, &s, true), 1_800_000 + 600_000);
    let got = read(&*db, |snap| snap.intervals(s.user, i64::MIN, i64::MAX)).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.contains(&(id, moved.clone())), "{got:?}");

    // Onto another interval's start, end and project: refused, nothing changed.
    let clash = iv(0.0, 600.0, "b");
    assert_eq!(
        w.edit_interval(&s, IntervalRef::Id(id), Some(&clash), &SYNCED)
            .unwrap(),
        IntervalEdit::Clash { id: other }
    );
    // Another user's interval, or none, is missing.
    let bob = w.add_user("bob", &UserSettings::default(), 0).unwrap();
    assert_eq!(
        w.edit_interval(&utc_scope(bob.id), IntervalRef::Id(id), None, &SYNCED)
            .unwrap(),
        IntervalEdit::Missing
    );
    assert_eq!(
        w.edit_interval(&s, IntervalRef::Id(id + 1000), None, &SYNCED)
            .unwrap(),
        IntervalEdit::Missing
    );

    // Removal by its identity (as a pulled removal arrives).
    let key = IntervalKey::of(&moved);
    assert!(matches!(
        w.edit_interval(&s, IntervalRef::Key(&key), None, &SYNCED)
            .unwrap(),
        IntervalEdit::Done { .. }
    ));
    assert_eq!(total(&*db, &s, true), 600_000);
    // Re-adding after a removal adds it again.
    assert!(w.add_interval(&s, &moved, 0, &UNSYNCED).unwrap().1);

    // The journal: added, removed (then the new version), removed.
    let kinds: Vec<Record> = journaled(&*db);
    assert_eq!(
        kinds,
        vec![
            Record::IntervalRemoved(IntervalKey::of(&a)),
            Record::IntervalRemoved(key.clone()),
        ],
        "the added interval's entries point at a row that changed or went"
    );
}

fn forget_by_project_and_range(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let day = 86_400.0;
    let beats: Vec<Heartbeat> = (0..10)
        .flat_map(|i| {
            let t = f64::from(i) * 60.0;
            [hb(t, "keep"), hb(t + 1.0, "drop"), hb(day + t, "drop")]
        })
        .collect();
    insert(&mut *w, &s, &beats);
    refresh_all(&mut *w, &s);
    let before = total(&*db, &s, true);
    let count = read(&*db, |snap| snap.heartbeat_count()).unwrap();
    assert_eq!(count, 30);

    // Counting changes nothing.
    let first_day = Forget {
        project: Some("drop".into()),
        entity: None,
        start_ms: 0,
        end_ms: 86_400_000,
    };
    let seen = w.forget(&s, &first_day, false, &SYNCED).unwrap();
    assert_eq!(
        seen,
        Forgotten {
            heartbeats: 10,
            first_ms: Some(1000),
            last_ms: Some(541_000),
        }
    );
    assert_eq!(read(&*db, |snap| snap.heartbeat_count()).unwrap(), 30);
    assert!(dirty(&*db, s.user).is_empty());
    assert!(journaled(&*db).is_empty());

    // Deleting: the other project and the other day stay; reports follow before any refresh.
    assert_eq!(w.forget(&s, &first_day, true, &SYNCED).unwrap(), seen);
    assert_eq!(read(&*db, |snap| snap.heartbeat_count()).unwrap(), 20);
    assert!(dirty(&*db, s.user).contains(&19700101));
    let left = read(&*db, |snap| {
        let mut v = Vec::new();
        snap.heartbeats(s.user, i64::MIN, i64::MAX, &mut |h| {
            v.push((h.project.clone().unwrap(), h.time_ms()));
            true
        })?;
        Ok(v)
    })
    .unwrap();
    assert_eq!(left.len(), 20);
    assert!(
        left.iter().all(|(p, t)| p == "keep" || *t >= 86_400_000),
        "{left:?}"
    );
    let after = total(&*db, &s, true);
    assert!(after < before, "{after} < {before}");
    assert_eq!(after, total(&*db, &s, false));
    refresh_all(&mut *w, &s);
    assert_eq!(total(&*db, &s, true), after);

    // Again: nothing left to forget; an unknown project neither.
    assert_eq!(
        w.forget(&s, &first_day, true, &SYNCED).unwrap().heartbeats,
        0
    );
    let unknown = Forget {
        project: Some("never-seen".into()),
        ..first_day.clone()
    };
    assert_eq!(w.forget(&s, &unknown, true, &SYNCED).unwrap().heartbeats, 0);
    // Another user's heartbeats are not this user's to forget.
    let bob = w.add_user("bob", &UserSettings::default(), 0).unwrap();
    let bobs = utc_scope(bob.id);
    insert(&mut *w, &bobs, &[hb(day + 5.0, "drop")]);
    let all_time = Forget {
        start_ms: i64::MIN / 2,
        end_ms: i64::MAX / 2,
        ..first_day.clone()
    };
    assert_eq!(
        w.forget(&s, &all_time, true, &SYNCED).unwrap().heartbeats,
        10
    );
    assert_eq!(read(&*db, |snap| snap.heartbeat_count()).unwrap(), 11);
    // Every applied forget is journaled, so it syncs even when nothing matched here.
    let forgets = journaled(&*db)
        .into_iter()
        .filter(|r| matches!(r, Record::Forget(_)))
        .count();
    assert_eq!(forgets, 4);
}

fn forget_by_entity_pattern(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let at = |t: f64, entity: &str, project: &str| {
        let mut h = hb(t, project);
        h.entity = entity.into();
        h
    };
    insert(
        &mut *w,
        &s,
        &[
            at(10.0, "/w/app/.env", "app"),
            at(20.0, "/w/app/src/.env", "app"),
            at(30.0, "/w/app/src/main.rs", "app"),
            at(40.0, "/w/lib/.env", "lib"),
            at(50.0, "/w/app/notes/secret1.txt", "app"),
        ],
    );
    let forget = |entity: &str, project: Option<&str>| Forget {
        project: project.map(str::to_string),
        entity: Some(entity.into()),
        start_ms: 0,
        end_ms: 1_000_000,
    };
    // Without a slash, the file name; limited to a project when one is given.
    let n = |w: &mut dyn Store, f: Forget| w.forget(&s, &f, false, &UNSYNCED).unwrap().heartbeats;
    assert_eq!(n(&mut *w, forget("*.env", None)), 3);
    assert_eq!(n(&mut *w, forget(".env", Some("app"))), 2);
    assert_eq!(n(&mut *w, forget("secret?.txt", None)), 1);
    assert_eq!(n(&mut *w, forget("secret.txt", None)), 0);
    // With a slash, the whole path.
    assert_eq!(n(&mut *w, forget("/w/app/*", None)), 4);
    assert_eq!(n(&mut *w, forget("*/src/*", None)), 2);
    assert_eq!(n(&mut *w, forget("app/*", None)), 0);
    let gone = w
        .forget(&s, &forget("*.env", Some("app")), true, &UNSYNCED)
        .unwrap();
    assert_eq!(gone.heartbeats, 2);
    let left: Vec<String> = read(&*db, |snap| {
        let mut v = Vec::new();
        snap.heartbeats(s.user, i64::MIN, i64::MAX, &mut |h| {
            v.push(h.entity.clone());
            true
        })?;
        Ok(v)
    })
    .unwrap();
    assert_eq!(
        left,
        vec![
            "/w/app/src/main.rs",
            "/w/lib/.env",
            "/w/app/notes/secret1.txt"
        ]
    );
    assert!(journaled(&*db).is_empty(), "unsynced: nothing journaled");
}

/// Corrections received from another machine apply here, once, and are journaled for the
/// machines that pull them; their records survive the journal.
fn synced_corrections(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let from = Provenance {
        origin: Some("laptop".into()),
        journal: true,
    };
    insert(&mut *w, &s, &[hb(10.0, "a"), hb(20.0, "b")]);
    let iv = Interval {
        start: 100.0,
        end: 200.0,
        project: "a".into(),
        branch: None,
        category: Category::CODING,
        note: None,
    };
    w.add_interval(&s, &iv, 0, &UNSYNCED).unwrap();
    let forget = Record::Forget(Forget {
        project: Some("a".into()),
        entity: None,
        start_ms: 0,
        end_ms: 1_000_000,
    });
    let removed = Record::IntervalRemoved(IntervalKey::of(&iv));
    assert!(apply_record(&mut *w, &s, &forget, 0, &from).unwrap());
    assert!(apply_record(&mut *w, &s, &removed, 0, &from).unwrap());
    assert!(!apply_record(&mut *w, &s, &removed, 0, &from).unwrap());
    let page = read(&*db, |snap| snap.journal(Some(s.user), 0, 100, None)).unwrap();
    let got: Vec<(Record, Option<String>)> = page
        .entries
        .into_iter()
        .map(|e| (e.record, e.origin))
        .collect();
    assert_eq!(
        got,
        vec![
            (forget.clone(), Some("laptop".into())),
            (removed.clone(), Some("laptop".into())),
        ]
    );
    // A machine does not pull its own.
    let page = read(&*db, |snap| {
        snap.journal(Some(s.user), 0, 100, Some("laptop"))
    })
    .unwrap();
    assert!(page.entries.is_empty());
    assert_eq!(read(&*db, |snap| snap.heartbeat_count()).unwrap(), 1);
    assert!(
        read(&*db, |snap| snap.intervals(s.user, i64::MIN, i64::MAX))
            .unwrap()
            .is_empty()
    );
}

fn watch_roots(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    assert!(w.add_watch_root("/a", 1).unwrap());
    assert!(!w.add_watch_root("/a", 2).unwrap());
    assert!(w.add_watch_root("/b", 3).unwrap());
    assert_eq!(read(&*db, |s| s.watch_roots()).unwrap(), vec!["/a", "/b"]);
    assert!(w.remove_watch_root("/a").unwrap());
    assert!(!w.remove_watch_root("/a").unwrap());
}

/// What a snapshot reads is one committed state, even while the writer commits.
fn snapshots_are_consistent(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let me = s.user;
    insert(&mut *w, &s, &[hb(1000.0, "a")]);
    read(&*db, |snap| {
        let before = snap.heartbeat_count()?;
        insert(&mut *w, &s, &[hb(2000.0, "a")]);
        assert_eq!(snap.heartbeat_count()?, before);
        let mut n = 0;
        snap.heartbeats(me, 0, i64::MAX, &mut |_| {
            n += 1;
            true
        })?;
        assert_eq!(n, 1);
        Ok(())
    })
    .unwrap();
    assert_eq!(read(&*db, |s| s.heartbeat_count()).unwrap(), 2);
}

/// WakaTime's AI fields and the actor are stored and read back as given (issue 15).
fn ai_fields_round_trip(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let me = tester(&mut *w).user;
    let mut h = hb(1_700_000_000.5, "p");
    h.category = Category::AI_CODING;
    h.actor = Some("claude-code".into());
    h.ai_line_changes = Some(-12);
    h.human_line_changes = Some(3);
    h.ai_session = Some("0b6c-session".into());
    h.ai_input_tokens = Some(12_345);
    h.ai_output_tokens = Some(678);
    h.ai_model = Some("opus-4.1".into());
    h.source = Some(Source::Agent);
    let plain = hb(1_700_000_060.0, "p");
    insert(&mut *w, &utc_scope(me), &[h.clone(), plain.clone()]);
    let got = read(&*db, |snap| {
        let mut got = vec![];
        snap.heartbeats(me, 0, i64::MAX, &mut |h| {
            got.push(h);
            true
        })?;
        Ok(got)
    })
    .unwrap();
    let mut want_plain = plain;
    want_plain.source = Some(Source::default());
    assert_eq!(got, vec![h, want_plain]);
}

/// `ai_counts` sees only heartbeats with AI fields; beats and rollups carry the actor, so
/// `--by actor` is the same from both.
fn ai_counts_and_actors(make: Make) {
    let db = make();
    let mut w = db.writer().unwrap();
    let s = tester(&mut *w);
    let mut human = hb(1000.0, "p");
    human.human_line_changes = Some(4);
    let mut agent = hb(1060.0, "p");
    agent.actor = Some("codex".into());
    agent.ai_line_changes = Some(9);
    agent.ai_session = Some("s1".into());
    agent.ai_output_tokens = Some(50);
    let mut later = hb(1120.0, "q");
    later.actor = Some("codex".into());
    insert(&mut *w, &s, &[human, agent, later, hb(1180.0, "p")]);
    let (counts, actors) = read(&*db, |snap| {
        let mut counts = vec![];
        snap.ai_counts(s.user, 0, i64::MAX, &mut |c| counts.push(c))?;
        let mut actors = vec![];
        snap.beats(s.user, 0, i64::MAX, &mut |b| actors.push(b.key.actor))?;
        let codex = snap.string_id("codex")?.unwrap_or_default();
        Ok((counts, (actors, codex)))
    })
    .unwrap();
    let (actors, codex) = actors;
    assert_eq!(actors, vec![0, codex, codex, 0]);
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert_eq!(
        (
            counts[0].time_ms,
            counts[0].human_line_changes,
            counts[0].dims.actor
        ),
        (1_000_000, 4, 0)
    );
    assert_eq!(
        (
            counts[1].ai_line_changes,
            counts[1].ai_output_tokens,
            counts[1].ai_input_tokens,
            counts[1].dims.actor
        ),
        (9, 50, 0, codex)
    );
    assert_ne!(counts[1].session, 0);
    refresh_all(&mut *w, &s);
    let by_actor = |rollups: bool| {
        read(&*db, |snap| {
            let q = Query {
                start_ms: 0,
                end_ms: 86_400_000,
                by: &[Dim::Actor],
                filters: &Filters::default(),
                rules: s.rules,
                rollups_usable: rollups,
                user_id: s.user,
            };
            report::report(snap, &s.calendar, &q)
        })
        .unwrap()
    };
    let (fast, slow) = (by_actor(true), by_actor(false));
    assert_eq!(fast, slow);
    let rows: Vec<(String, f64)> = fast.by[0]
        .1
        .iter()
        .map(|r| (r.name.clone(), r.seconds))
        .collect();
    assert_eq!(
        rows,
        vec![("codex".to_string(), 120.0), ("human".to_string(), 60.0)]
    );
}

/// Focus timers: one runs at a time, ending keeps the session, a stopped clock never ends one
/// before it started.
fn focus_sessions(make: Make) {
    use crate::focus::FocusPlan;
    let db = make();
    let mut w = db.writer().unwrap();
    let me = tester(&mut *w).user;
    let other = w.add_user("other", &UserSettings::default(), 0).unwrap().id;
    let plan = FocusPlan {
        duration_ms: 25 * 60_000,
        project: Some("p".into()),
        note: Some("write the report".into()),
    };
    assert_eq!(read(&*db, |s| s.running_focus(me)).unwrap(), None);
    assert_eq!(w.end_focus(me, 5_000, false).unwrap(), None);
    let first = w.start_focus(me, 1_000_000, &plan).unwrap();
    assert_eq!(
        (first.end_ms, first.completed, first.due_ms()),
        (None, false, 1_000_000 + 25 * 60_000)
    );
    let err = w.start_focus(me, 1_000_500, &plan).unwrap_err();
    assert!(err.to_string().contains(FOCUS_RUNNING), "{err}");
    // Another user's timer is theirs.
    w.start_focus(other, 1_000_500, &plan).unwrap();
    assert_eq!(
        read(&*db, |s| s.running_focus(me)).unwrap(),
        Some(first.clone())
    );
    let done = w.end_focus(me, 2_500_000, true).unwrap().unwrap();
    assert_eq!((done.end_ms, done.completed), (Some(2_500_000), true));
    assert_eq!(read(&*db, |s| s.running_focus(me)).unwrap(), None);
    let second = w
        .start_focus(
            me,
            3_000_000,
            &FocusPlan {
                duration_ms: 60_000,
                project: None,
                note: None,
            },
        )
        .unwrap();
    let stopped = w.end_focus(me, 2_000_000, false).unwrap().unwrap();
    assert_eq!(
        (stopped.id, stopped.end_ms, stopped.completed),
        (second.id, Some(3_000_000), false)
    );
    let listed = read(&*db, |s| s.focus_sessions(me, 0, i64::MAX)).unwrap();
    assert_eq!(listed, vec![done.clone(), stopped]);
    // Overlapping the range: a session that ended before it is not listed.
    let listed = read(&*db, |s| s.focus_sessions(me, 2_600_000, 4_000_000)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        read(&*db, |s| s.focus_sessions(other, 0, i64::MAX))
            .unwrap()
            .len(),
        1
    );
    w.remove_user(other).unwrap();
    assert_eq!(read(&*db, |s| s.running_focus(other)).unwrap(), None);
}
