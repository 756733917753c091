//! What a target may see, applied before anything leaves the machine: file, branch and project
//! names hidden (a stable token: the same name always gives the same token, so the server still
//! groups by it), projects excluded by glob, and only some categories sent.

use crate::config::TargetConfig;
use crate::model::{Category, Heartbeat};
use crate::store::Record;
use sha2::{Digest, Sha256};

/// A target's privacy options, ready to apply.
#[derive(Debug, Clone, Default)]
pub struct Privacy {
    pub hide_file_names: bool,
    pub hide_branch_names: bool,
    pub hide_project_names: bool,
    pub exclude_projects: Vec<String>,
    pub categories: Vec<Category>,
}

impl Privacy {
    pub fn of(t: &TargetConfig) -> Privacy {
        Privacy {
            hide_file_names: t.hide_file_names,
            hide_branch_names: t.hide_branch_names,
            hide_project_names: t.hide_project_names,
            exclude_projects: t.exclude_projects.clone(),
            categories: t
                .categories
                .iter()
                .filter_map(|c| Category::parse(c))
                .collect(),
        }
    }

    /// The record as the target may see it, or None when it must not be sent at all.
    pub fn apply(&self, record: &Record) -> Option<Record> {
        match record {
            Record::Heartbeat(h) => self.heartbeat(h).map(Record::Heartbeat),
            Record::Interval(iv) => {
                if self.excluded(Some(&iv.project))
                    || !self.categories.is_empty() && !self.categories.contains(&iv.category)
                {
                    return None;
                }
                let mut iv = iv.clone();
                iv.project = self.project(&iv.project);
                iv.branch = iv.branch.map(|b| self.branch(&b));
                if self.hide_project_names || self.hide_branch_names {
                    iv.note = None;
                }
                Some(Record::Interval(iv))
            }
            Record::Commit(c) => {
                if self.excluded(Some(&c.project)) {
                    return None;
                }
                let mut c = c.clone();
                c.project = self.project(&c.project);
                c.branch = c.branch.map(|b| self.branch(&b));
                if self.hide_project_names || self.hide_branch_names || self.hide_file_names {
                    c.summary = None;
                }
                Some(Record::Commit(c))
            }
            Record::Switch(w) => {
                if self.excluded(Some(&w.project)) {
                    return None;
                }
                let mut w = w.clone();
                w.project = self.project(&w.project);
                w.branch = self.branch(&w.branch);
                Some(Record::Switch(w))
            }
            Record::Forget(f) => {
                // The server holds hidden file names as tokens no pattern can match: an
                // entity pattern is not sent where file names are hidden.
                if f.project.as_deref().is_some_and(|p| self.excluded(Some(p)))
                    || f.entity.is_some() && self.hide_file_names
                {
                    return None;
                }
                let mut f = f.clone();
                f.project = f.project.map(|p| self.project(&p));
                Some(Record::Forget(f))
            }
            Record::IntervalRemoved(k) => {
                if self.excluded(Some(&k.project)) {
                    return None;
                }
                let mut k = k.clone();
                k.project = self.project(&k.project);
                Some(Record::IntervalRemoved(k))
            }
        }
    }

    /// A heartbeat as the target may see it.
    pub fn heartbeat(&self, h: &Heartbeat) -> Option<Heartbeat> {
        if self.excluded(h.project.as_deref())
            || !self.categories.is_empty() && !self.categories.contains(&h.category)
        {
            return None;
        }
        let mut h = h.clone();
        if self.hide_file_names && h.entity_type == crate::model::EntityType::File {
            h.entity = hidden_file(&h.entity);
            h.dependencies.clear();
            h.lineno = None;
            h.cursorpos = None;
        }
        h.project = h.project.map(|p| self.project(&p));
        h.branch = h.branch.map(|b| self.branch(&b));
        if self.hide_project_names || self.hide_branch_names || self.hide_file_names {
            // Free-form data could carry any of them.
            h.meta = None;
        }
        Some(h)
    }

    fn excluded(&self, project: Option<&str>) -> bool {
        let name = project.unwrap_or("");
        self.exclude_projects
            .iter()
            .any(|g| crate::shell::classify::glob_match(g, name))
    }

    fn project(&self, name: &str) -> String {
        if self.hide_project_names {
            token("project", name)
        } else {
            name.to_string()
        }
    }

    fn branch(&self, name: &str) -> String {
        if self.hide_branch_names {
            token("branch", name)
        } else {
            name.to_string()
        }
    }
}

/// WakaTime's form for a hidden file: `HIDDEN.<ext>`, so languages still count.
fn hidden_file(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 16 => {
            format!("HIDDEN.{ext}")
        }
        _ => "HIDDEN".to_string(),
    }
}

/// A stable stand-in for a name: the same name always gives the same token (on every machine),
/// and the token says nothing about the name.
fn token(kind: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("timeforged {kind}\0{name}").as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(entity: &str, project: &str, branch: &str) -> Heartbeat {
        let mut h = Heartbeat::new(1000.0, entity);
        h.project = Some(project.into());
        h.branch = Some(branch.into());
        h.dependencies = vec!["serde".into()];
        h.meta = serde_json::json!({"ticket": "X-1"}).as_object().cloned();
        h
    }

    #[test]
    fn names_are_hidden_with_stable_tokens() {
        let p = Privacy {
            hide_file_names: true,
            hide_branch_names: true,
            hide_project_names: true,
            ..Privacy::default()
        };
        let a = p
            .heartbeat(&hb("/home/me/secret/plan.rs", "secret", "feat/x"))
            .unwrap();
        let b = p
            .heartbeat(&hb("/other/notes.md", "secret", "feat/x"))
            .unwrap();
        assert_eq!(a.entity, "HIDDEN.rs");
        assert_eq!(b.entity, "HIDDEN.md");
        assert_eq!(a.project, b.project, "stable");
        let text = serde_json::to_string(&a).unwrap();
        for secret in ["secret", "feat/x", "plan", "serde", "X-1"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let c = p.heartbeat(&hb("/x", "other", "main")).unwrap();
        assert_ne!(a.project, c.project);
        assert_eq!(hidden_file("Makefile"), "HIDDEN");
        assert_eq!(hidden_file(".bashrc"), "HIDDEN");
    }

    #[test]
    fn excluded_projects_and_categories_are_not_sent() {
        let p = Privacy {
            exclude_projects: vec!["client-*".into()],
            categories: vec![Category::CODING],
            ..Privacy::default()
        };
        assert!(p.heartbeat(&hb("/a", "client-acme", "m")).is_none());
        let kept = p.heartbeat(&hb("/a", "mine", "m")).unwrap();
        assert_eq!(kept.project.as_deref(), Some("mine"));
        let mut debugging = hb("/a", "mine", "m");
        debugging.category = Category::parse("debugging").unwrap();
        assert!(p.heartbeat(&debugging).is_none());
    }
}
