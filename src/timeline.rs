//! Heartbeats → credited time spans → sessions: the duration rules of DESIGN.md as pure
//! functions with no I/O, generic over what a heartbeat is attributed to (`K`). [`Crediter`]
//! does it as a stream, so a year of heartbeats never has to be in memory at once.

/// How gaps between heartbeats become time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A gap counts only if it is strictly shorter than this.
    pub timeout_ms: i64,
    pub midnight: MidnightRule,
}

/// What happens to a counted gap that crosses local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidnightRule {
    /// Split it, so per-day totals add up to the range total (TimeForged).
    Split,
    /// Drop any gap whose two ends fall on different days (Wakapi's rule).
    Drop,
}

impl Rules {
    pub fn timeforged(timeout_ms: i64) -> Rules {
        Rules {
            timeout_ms,
            midnight: MidnightRule::Split,
        }
    }

    /// Wakapi's rules: its default 10-minute timeout, cross-midnight gaps dropped.
    pub fn wakapi() -> Rules {
        Rules::wakapi_with(10 * 60 * 1000)
    }

    /// Wakapi's rules with a user's own timeout (Wakapi lets each user set one).
    pub fn wakapi_with(timeout_ms: i64) -> Rules {
        Rules {
            timeout_ms,
            midnight: MidnightRule::Drop,
        }
    }
}

/// A heartbeat reduced to what durations need: when, and what it is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat<K> {
    pub time_ms: i64,
    pub key: K,
}

/// A half-open span `[start_ms, end_ms)` of credited time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<K> {
    pub start_ms: i64,
    pub end_ms: i64,
    pub key: K,
}

impl<K> Span<K> {
    pub fn ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// Where local days end: the first midnight strictly after an instant.
pub trait Midnights {
    fn after(&mut self, t: i64) -> i64;
}

/// Sorted midnights given as a list (tests, and callers that already have them).
impl Midnights for &[i64] {
    fn after(&mut self, t: i64) -> i64 {
        let i = self.partition_point(|&m| m <= t);
        self.get(i).copied().unwrap_or(i64::MAX)
    }
}

/// Streams heartbeats (sorted by time) into credited spans: each gap shorter than the timeout
/// is credited to the earlier heartbeat, split (or dropped) at local midnight, and manual
/// intervals win over heartbeat time in their span. Spans come out sorted by start.
pub struct Crediter<K, M> {
    rules: Rules,
    midnights: M,
    previous: Option<Beat<K>>,
    /// Manual spans, disjoint, split at midnight and sorted; `next` is the first not yet sent.
    manual: Vec<Span<K>>,
    next: usize,
    /// Heartbeat time before this is covered by a manual span already sent.
    covered_until: i64,
}

impl<K: Copy, M: Midnights> Crediter<K, M> {
    /// `intervals` must be sorted by start; overlapping ones count once (the part covered by
    /// several goes to the one that starts first).
    pub fn new(rules: Rules, mut midnights: M, intervals: &[Span<K>]) -> Self {
        let mut manual = Vec::with_capacity(intervals.len());
        let mut covered_until = i64::MIN;
        for iv in intervals {
            let start = iv.start_ms.max(covered_until);
            if start < iv.end_ms {
                split_at_midnights(start, iv.end_ms, iv.key, &mut midnights, &mut |s| {
                    manual.push(s)
                });
                covered_until = iv.end_ms;
            }
        }
        Crediter {
            rules,
            midnights,
            previous: None,
            manual,
            next: 0,
            covered_until: i64::MIN,
        }
    }

    /// The next heartbeat, in time order.
    pub fn push(&mut self, beat: Beat<K>, emit: &mut impl FnMut(Span<K>)) {
        if let Some(a) = self.previous.replace(beat) {
            let gap = beat.time_ms - a.time_ms;
            if gap > 0 && gap < self.rules.timeout_ms {
                self.credit(a.time_ms, beat.time_ms, a.key, emit);
            }
        }
    }

    /// Sends what is left (manual spans after the last heartbeat).
    pub fn finish(mut self, emit: &mut impl FnMut(Span<K>)) {
        for m in &self.manual[self.next..] {
            emit(*m);
        }
        self.next = self.manual.len();
    }

    fn credit(&mut self, start: i64, end: i64, key: K, emit: &mut impl FnMut(Span<K>)) {
        match self.rules.midnight {
            MidnightRule::Drop => {
                // Wakapi: a gap whose ends fall on different days counts nothing, even one that
                // ends exactly at midnight.
                if self.midnights.after(start) > end {
                    self.cut(start, end, key, emit);
                }
            }
            MidnightRule::Split => {
                let mut from = start;
                loop {
                    let m = self.midnights.after(from);
                    if m >= end {
                        break;
                    }
                    self.cut(from, m, key, emit);
                    from = m;
                }
                self.cut(from, end, key, emit);
            }
        }
    }

    /// Sends `[start, end)` minus the manual spans, after the manual spans that start before
    /// its end.
    fn cut(&mut self, start: i64, end: i64, key: K, emit: &mut impl FnMut(Span<K>)) {
        let mut from = start.max(self.covered_until);
        while let Some(m) = self.manual.get(self.next).copied() {
            if m.start_ms >= end {
                break;
            }
            if m.start_ms > from {
                emit(Span {
                    start_ms: from,
                    end_ms: m.start_ms,
                    key,
                });
            }
            emit(m);
            self.next += 1;
            self.covered_until = self.covered_until.max(m.end_ms);
            from = from.max(m.end_ms);
        }
        if from < end {
            emit(Span {
                start_ms: from,
                end_ms: end,
                key,
            });
        }
    }
}

fn split_at_midnights<K: Copy>(
    start: i64,
    end: i64,
    key: K,
    midnights: &mut impl Midnights,
    emit: &mut impl FnMut(Span<K>),
) {
    let mut from = start;
    loop {
        let m = midnights.after(from);
        if m >= end {
            break;
        }
        emit(Span {
            start_ms: from,
            end_ms: m,
            key,
        });
        from = m;
    }
    emit(Span {
        start_ms: from,
        end_ms: end,
        key,
    });
}

/// Credited spans of sorted `beats` under `rules`, split at `midnights` (sorted).
pub fn spans<K: Copy>(beats: &[Beat<K>], rules: Rules, midnights: &[i64]) -> Vec<Span<K>> {
    credited(beats, rules, midnights, &[])
}

/// Credited spans of sorted `beats` with manual `intervals` (sorted by start) winning.
pub fn credited<K: Copy>(
    beats: &[Beat<K>],
    rules: Rules,
    midnights: &[i64],
    intervals: &[Span<K>],
) -> Vec<Span<K>> {
    let mut out = Vec::with_capacity(beats.len());
    let mut c = Crediter::new(rules, midnights, intervals);
    let mut emit = |s| out.push(s);
    for b in beats {
        c.push(*b, &mut emit);
    }
    c.finish(&mut emit);
    out
}

/// The part of `s` inside `[start, end)`.
pub fn clip_one<K: Copy>(s: Span<K>, start: i64, end: i64) -> Option<Span<K>> {
    let (a, b) = (s.start_ms.max(start), s.end_ms.min(end));
    (a < b).then_some(Span {
        start_ms: a,
        end_ms: b,
        key: s.key,
    })
}

/// The parts of `spans` inside `[start, end)`.
pub fn clip<K: Copy>(
    spans: &[Span<K>],
    start: i64,
    end: i64,
) -> impl Iterator<Item = Span<K>> + '_ {
    spans.iter().filter_map(move |s| clip_one(*s, start, end))
}

/// A run of activity: spans that touch, with no gap between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<K> {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Credited time; equals `end - start` unless part of the run was dropped.
    pub ms: i64,
    /// Each key with its time in the run, most time first.
    pub keys: Vec<(K, i64)>,
}

/// Groups sorted spans into runs of activity (sessions).
pub fn runs<K: Copy + PartialEq>(spans: &[Span<K>]) -> Vec<Run<K>> {
    let mut out = Vec::new();
    let mut builder = Runs::default();
    for s in spans {
        builder.push(*s, &mut |r| out.push(r));
    }
    builder.finish(&mut |r| out.push(r));
    out
}

/// Builds runs from spans streamed in time order; each run is sent once it is over.
pub struct Runs<K> {
    current: Option<Run<K>>,
}

impl<K> Default for Runs<K> {
    fn default() -> Self {
        Runs { current: None }
    }
}

impl<K: Copy + PartialEq> Runs<K> {
    pub fn push(&mut self, s: Span<K>, done: &mut impl FnMut(Run<K>)) {
        match &mut self.current {
            Some(run) if s.start_ms <= run.end_ms => {
                run.end_ms = run.end_ms.max(s.end_ms);
                run.ms += s.ms();
                match run.keys.iter_mut().find(|(k, _)| *k == s.key) {
                    Some((_, ms)) => *ms += s.ms(),
                    None => run.keys.push((s.key, s.ms())),
                }
            }
            _ => {
                let next = Run {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    ms: s.ms(),
                    keys: vec![(s.key, s.ms())],
                };
                if let Some(run) = self.current.replace(next) {
                    done(sorted(run));
                }
            }
        }
    }

    pub fn finish(self, done: &mut impl FnMut(Run<K>)) {
        if let Some(run) = self.current {
            done(sorted(run));
        }
    }
}

fn sorted<K>(mut run: Run<K>) -> Run<K> {
    // Stable: on a tie the key seen first wins.
    run.keys.sort_by_key(|k| std::cmp::Reverse(k.1));
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;
    const MIN: i64 = 60 * S;
    const DAY: i64 = 24 * 60 * MIN;

    fn beats(times: &[i64]) -> Vec<Beat<&'static str>> {
        times
            .iter()
            .map(|&t| Beat {
                time_ms: t,
                key: "p",
            })
            .collect()
    }

    fn total<K>(spans: &[Span<K>]) -> i64 {
        spans.iter().map(Span::ms).sum()
    }

    #[test]
    fn design_reference_case() {
        // Heartbeats at 0, 10 s, 3 min 10 s, 3 min 20 s.
        let b = beats(&[0, 10 * S, 3 * MIN + 10 * S, 3 * MIN + 20 * S]);
        let ten = spans(&b, Rules::timeforged(10 * MIN), &[]);
        assert_eq!(total(&ten), 3 * MIN + 20 * S);
        let two = spans(&b, Rules::timeforged(2 * MIN), &[]);
        assert_eq!(total(&two), 20 * S);
    }

    #[test]
    fn gap_rules_table() {
        let t = 15 * MIN;
        let cases: &[(&str, &[i64], i64)] = &[
            ("no heartbeats", &[], 0),
            ("single heartbeat adds 0", &[0], 0),
            ("gap just under the timeout counts", &[0, t - 1], t - 1),
            ("gap equal to the timeout counts 0", &[0, t], 0),
            ("gap over the timeout counts 0", &[0, t + 1], 0),
            ("duplicate times add 0", &[0, 0, 0], 0),
            (
                "last heartbeat of a run adds 0",
                &[0, MIN, 2 * MIN, 2 * MIN + t, 2 * MIN + t + MIN],
                3 * MIN,
            ),
        ];
        for (name, times, want) in cases {
            let got = total(&spans(&beats(times), Rules::timeforged(t), &[]));
            assert_eq!(got, *want, "{name}");
        }
    }

    #[test]
    fn gap_is_credited_to_the_earlier_heartbeat() {
        let b = [
            Beat {
                time_ms: 0,
                key: "a",
            },
            Beat {
                time_ms: MIN,
                key: "b",
            },
            Beat {
                time_ms: 3 * MIN,
                key: "c",
            },
        ];
        let s = spans(&b, Rules::timeforged(15 * MIN), &[]);
        assert_eq!(
            s,
            vec![
                Span {
                    start_ms: 0,
                    end_ms: MIN,
                    key: "a"
                },
                Span {
                    start_ms: MIN,
                    end_ms: 3 * MIN,
                    key: "b"
                }
            ]
        );
    }

    #[test]
    fn midnight_split_keeps_the_total_and_wakapi_drops_it() {
        let midnight = DAY;
        let b = beats(&[DAY - 5 * MIN, DAY + 5 * MIN, DAY + 6 * MIN]);
        let split = spans(&b, Rules::timeforged(15 * MIN), &[0, midnight, 2 * DAY]);
        assert_eq!(total(&split), 11 * MIN);
        let before: i64 = clip(&split, 0, midnight).map(|s| s.ms()).sum();
        let after: i64 = clip(&split, midnight, 2 * DAY).map(|s| s.ms()).sum();
        assert_eq!((before, after), (5 * MIN, 6 * MIN));
        let wakapi = spans(&b, Rules::wakapi(), &[0, midnight, 2 * DAY]);
        assert_eq!(total(&wakapi), MIN);
    }

    /// Wakapi drops a gap whose two ends fall on different days, also when the later one is
    /// exactly midnight; TimeForged keeps that gap whole on the day it started.
    #[test]
    fn a_gap_ending_exactly_at_midnight() {
        let midnights = [0, DAY, 2 * DAY];
        let b = beats(&[DAY - 5 * MIN, DAY, DAY + MIN]);
        let wakapi = spans(&b, Rules::wakapi(), &midnights);
        assert_eq!(
            total(&wakapi),
            MIN,
            "only the gap after midnight: {wakapi:?}"
        );
        let split = spans(&b, Rules::timeforged(15 * MIN), &midnights);
        assert_eq!(
            split[0],
            Span {
                start_ms: DAY - 5 * MIN,
                end_ms: DAY,
                key: "p"
            }
        );
        assert_eq!(total(&split), 6 * MIN);
        // A gap starting exactly at midnight is on the new day for both.
        let b = beats(&[DAY, DAY + MIN]);
        assert_eq!(total(&spans(&b, Rules::wakapi(), &midnights)), MIN);
        // Wakapi with a user's own timeout.
        let b = beats(&[0, 12 * MIN]);
        assert_eq!(total(&spans(&b, Rules::wakapi(), &midnights)), 0);
        assert_eq!(
            total(&spans(&b, Rules::wakapi_with(20 * MIN), &midnights)),
            12 * MIN
        );
    }

    /// The streaming crediter against a brute force over every millisecond: a manual
    /// interval (the first one that covers it) wins, else the gap it falls in if shorter than
    /// the timeout, split or dropped at midnight.
    #[test]
    fn crediting_matches_a_per_millisecond_reference() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..300 {
            let timeout = 1 + next(40) as i64;
            let midnights: Vec<i64> = (0..4).map(|i| i * 100 + next(30) as i64).collect();
            let mut times: Vec<i64> = (0..next(25)).map(|_| next(400) as i64).collect();
            times.sort();
            let beats: Vec<Beat<u32>> = times
                .iter()
                .enumerate()
                .map(|(i, &t)| Beat {
                    time_ms: t,
                    key: i as u32,
                })
                .collect();
            let mut ivs: Vec<Span<u32>> = (0..next(4))
                .map(|i| {
                    let a = next(400) as i64;
                    Span {
                        start_ms: a,
                        end_ms: a + 1 + next(60) as i64,
                        key: 1000 + i as u32,
                    }
                })
                .collect();
            ivs.sort_by_key(|s| s.start_ms);
            for rules in [Rules::timeforged(timeout), Rules::wakapi_with(timeout)] {
                let got = credited(&beats, rules, &midnights, &ivs);
                let mut want: std::collections::BTreeMap<u32, i64> = Default::default();
                for ms in -10..600 {
                    if let Some(iv) = ivs.iter().find(|s| s.start_ms <= ms && ms < s.end_ms) {
                        *want.entry(iv.key).or_default() += 1;
                        continue;
                    }
                    let Some(w) = beats
                        .windows(2)
                        .find(|w| w[0].time_ms <= ms && ms < w[1].time_ms)
                    else {
                        continue;
                    };
                    let (a, b) = (w[0].time_ms, w[1].time_ms);
                    let crosses = midnights.iter().any(|&m| a < m && m <= b);
                    if b - a < timeout && !(rules.midnight == MidnightRule::Drop && crosses) {
                        *want.entry(w[0].key).or_default() += 1;
                    }
                }
                let mut have: std::collections::BTreeMap<u32, i64> = Default::default();
                for s in &got {
                    *have.entry(s.key).or_default() += s.ms();
                }
                assert_eq!(
                    have, want,
                    "round {round} {rules:?} beats {times:?} ivs {ivs:?} midnights {midnights:?}"
                );
                assert!(
                    got.windows(2).all(|w| w[0].end_ms <= w[1].start_ms),
                    "sorted, disjoint: {got:?}"
                );
                assert!(
                    got.iter()
                        .all(|s| !midnights.iter().any(|&m| s.start_ms < m && m < s.end_ms)),
                    "split at midnight: {got:?}"
                );
            }
        }
    }

    #[test]
    fn clipping_counts_the_part_inside_the_range() {
        // A heartbeat just before the range start counts for the part inside it.
        let b = beats(&[100 * MIN - 2 * MIN, 100 * MIN + 3 * MIN]);
        let s = spans(&b, Rules::timeforged(15 * MIN), &[]);
        let inside: i64 = clip(&s, 100 * MIN, 200 * MIN).map(|s| s.ms()).sum();
        assert_eq!(inside, 3 * MIN);
    }

    #[test]
    fn manual_intervals_win_and_never_double_count() {
        // Heartbeats every minute 0..=20 min, interval 5..10 min on another project.
        let b: Vec<_> = (0..=20)
            .map(|m| Beat {
                time_ms: m * MIN,
                key: "code",
            })
            .collect();
        let hs = spans(&b, Rules::timeforged(15 * MIN), &[]);
        let iv = [Span {
            start_ms: 5 * MIN,
            end_ms: 10 * MIN,
            key: "meeting",
        }];
        let out = credited(&b, Rules::timeforged(15 * MIN), &[], &iv);
        assert_eq!(hs.len(), 20);
        assert_eq!(total(&out), 20 * MIN);
        let meeting: i64 = out
            .iter()
            .filter(|s| s.key == "meeting")
            .map(Span::ms)
            .sum();
        assert_eq!(meeting, 5 * MIN);
        // Intervals outside heartbeat time add to it; overlapping intervals count once.
        let iv = [
            Span {
                start_ms: 30 * MIN,
                end_ms: 40 * MIN,
                key: "x",
            },
            Span {
                start_ms: 35 * MIN,
                end_ms: 45 * MIN,
                key: "y",
            },
        ];
        let out = credited(&b, Rules::timeforged(15 * MIN), &[], &iv);
        assert_eq!(total(&out), 20 * MIN + 15 * MIN);
        let y: i64 = out.iter().filter(|s| s.key == "y").map(Span::ms).sum();
        assert_eq!(y, 5 * MIN);
        // An interval covering a whole span, and one spanning several spans.
        let iv = [Span {
            start_ms: -MIN,
            end_ms: 30 * MIN,
            key: "all",
        }];
        let out = credited(&b, Rules::timeforged(15 * MIN), &[], &iv);
        assert_eq!(
            out,
            vec![Span {
                start_ms: -MIN,
                end_ms: 30 * MIN,
                key: "all"
            }]
        );
    }

    #[test]
    fn runs_are_sessions() {
        let b = [
            Beat {
                time_ms: 0,
                key: "a",
            },
            Beat {
                time_ms: 10 * MIN,
                key: "b",
            },
            Beat {
                time_ms: 12 * MIN,
                key: "a",
            },
            Beat {
                time_ms: 14 * MIN,
                key: "a",
            },
            Beat {
                time_ms: 60 * MIN,
                key: "c",
            },
            Beat {
                time_ms: 61 * MIN,
                key: "c",
            },
        ];
        let r = runs(&spans(&b, Rules::timeforged(15 * MIN), &[]));
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].start_ms, r[0].end_ms, r[0].ms),
            (0, 14 * MIN, 14 * MIN)
        );
        assert_eq!(r[0].keys, vec![("a", 12 * MIN), ("b", 2 * MIN)]);
        assert_eq!((r[1].start_ms, r[1].end_ms), (60 * MIN, 61 * MIN));
    }

    #[test]
    fn per_day_totals_add_up_to_the_range_total() {
        // Heartbeats every 7 minutes over three days, with days of uneven length (DST-like).
        let midnights = [0, DAY - 60 * MIN, 2 * DAY, 3 * DAY + 60 * MIN];
        let b = beats(
            &(0..(3 * DAY / (7 * MIN)))
                .map(|i| i * 7 * MIN)
                .collect::<Vec<_>>(),
        );
        let s = spans(&b, Rules::timeforged(15 * MIN), &midnights);
        let whole: i64 = clip(&s, 0, 3 * DAY + 60 * MIN).map(|s| s.ms()).sum();
        let days: i64 = midnights
            .windows(2)
            .map(|w| clip(&s, w[0], w[1]).map(|s| s.ms()).sum::<i64>())
            .sum();
        assert_eq!(whole, days);
        assert_eq!(whole, b.last().unwrap().time_ms);
    }
}
