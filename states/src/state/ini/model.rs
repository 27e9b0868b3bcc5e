//! A port of Salt's `_Ini`/`_Section` (salt/modules/ini_manage.py): an
//! ini file as an ordered map of options, comment lines (`#commentN` keys),
//! unparsed lines (`#unknownN`) and sections, read and written back the way
//! Salt does, so the file Brine leaves is the file Salt would leave.
use std::sync::OnceLock;

use common::data::{Map, Value};
use common::pyfmt::py_str;
use regex::Regex;

/// An entry's value: an option's text or a section.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    Text(String),
    Section(Section),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Section {
    pub name: String,
    pub entries: Vec<(String, Item)>,
    /// The separator's own pattern (`_Section.opt_regx`).
    sep: String,
}

fn section_header() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?m)^\s*\[(.+?)\]\s*$").expect("INI_REGX"))
}

fn comment_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*(#|;)\s*(.*)").expect("COM_REGX"))
}

fn indented_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^(\s+)(.*)").expect("INDENTED_REGX"))
}

fn option_line(sep: &str) -> Regex {
    // Salt escapes the separator's first character; regex::escape is the
    // same pattern for every separator a file uses.
    Regex::new(&format!(
        r"^(\s*)(.+?)\s*({})\s*(.*)\s*",
        regex::escape(sep)
    ))
    .expect("option regex")
}

impl Section {
    pub fn new(name: &str, sep: &str) -> Self {
        Section {
            name: name.to_string(),
            entries: Vec::new(),
            sep: sep.to_string(),
        }
    }

    /// Salt's `_Ini.refresh`: `text` split at `[section]` headers, the part
    /// before the first one the top level.
    pub fn parse(text: &str, sep: &str) -> Section {
        let text = text.lines().collect::<Vec<_>>().join("\n");
        let mut top = Section::new("", sep);
        let headers: Vec<_> = section_header().captures_iter(&text).collect();
        let first = headers
            .first()
            .map_or(text.len(), |c| c.get(0).map_or(0, |m| m.start()));
        top.refresh(&text[..first]);
        for (i, caps) in headers.iter().enumerate() {
            let whole = caps.get(0).expect("match");
            let end = headers
                .get(i + 1)
                .and_then(|c| c.get(0))
                .map_or(text.len(), |m| m.start());
            let mut sect = Section::new(&caps[1], sep);
            sect.refresh(&text[whole.end()..end]);
            // Salt adds it through `update`, so a repeated header merges.
            top.update_item(&caps[1], Item::Section(sect));
        }
        top
    }

    /// Salt's `_Section.refresh`.
    fn refresh(&mut self, text: &str) {
        let text = text.trim_matches('\n');
        if text.is_empty() {
            return;
        }
        let opt = option_line(&self.sep);
        let (mut comments, mut unknowns) = (1, 1);
        let mut curr_indent = String::new();
        for line in text.split('\n') {
            if comment_line().is_match(line) {
                self.update_item(&format!("#comment{comments}"), Item::Text(line.into()));
                comments += 1;
                continue;
            }
            if let Some(c) = indented_line().captures(line) {
                let indent = c[1].replace('\t', "    ");
                if indent > curr_indent {
                    if let Some((_, Item::Text(value))) = self.entries.last_mut() {
                        value.push('\n');
                        value.push_str(line);
                    }
                    continue;
                }
            }
            if let Some(c) = opt.captures(line) {
                curr_indent = c[1].replace('\t', "    ");
                self.update_item(&c[2], Item::Text(c[4].to_string()));
                continue;
            }
            self.update_item(&format!("#unknown{unknowns}"), Item::Text(line.into()));
            unknowns += 1;
        }
    }

    pub fn get(&self, key: &str) -> Option<&Item> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Item> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn pop(&mut self, key: &str) -> Option<Item> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(at).1)
    }

    /// The section named `name`, if that entry is one.
    pub fn section(&self, name: &str) -> Option<&Section> {
        match self.get(name) {
            Some(Item::Section(s)) => Some(s),
            _ => None,
        }
    }

    pub fn section_mut(&mut self, name: &str) -> Option<&mut Section> {
        match self.get_mut(name) {
            Some(Item::Section(s)) => Some(s),
            _ => None,
        }
    }

    /// Salt's `_uncomment_if_commented`: a new option takes the place of the
    /// first comment that is that option commented out (the comment goes).
    fn uncomment_if_commented(&mut self, key: &str) {
        let opt = option_line(&self.sep);
        let at = self.entries.iter().position(|(k, v)| {
            k.contains("#comment")
                && matches!(v, Item::Text(line)
                    if opt.captures(line.trim_start_matches('#')).is_some_and(|c| &c[2] == key))
        });
        let item = (key.to_string(), Item::Text(String::new()));
        match at {
            Some(i) => self.entries[i] = item,
            None => self.entries.push(item),
        }
    }

    /// Salt's `_Section.update` of one key; the change it reports, if any.
    pub fn update_item(&mut self, key: &str, value: Item) -> Option<Value> {
        let plain = value.plain();
        let is_section = matches!(value, Item::Section(_));
        let Some(current) = self.get_mut(key) else {
            if !is_section {
                self.uncomment_if_commented(key);
            }
            match self.get_mut(key) {
                Some(slot) => *slot = value,
                None => self.entries.push((key.to_string(), value)),
            }
            return Some(before_after(Value::Null, plain));
        };
        match (current, value) {
            (Item::Section(cur), Item::Section(new)) => {
                let sub = cur.update(&new.entries);
                (!sub.is_empty()).then_some(Value::Object(sub))
            }
            // Salt would call `.items()` on the string and fail; an option
            // cannot become options.
            (Item::Section(_), Item::Text(_)) => None,
            (current, value) => {
                if *current == value {
                    return None;
                }
                let before = current.plain();
                *current = value;
                Some(before_after(before, plain))
            }
        }
    }

    /// Salt's `_Section.update` of several keys.
    pub fn update(&mut self, items: &[(String, Item)]) -> Map<String, Value> {
        let mut changes = Map::new();
        for (k, v) in items {
            if let Some(c) = self.update_item(k, v.clone()) {
                changes.insert(k.clone(), c);
            }
        }
        changes
    }

    /// Salt's `_Section.as_dict`.
    pub fn as_dict(&self) -> Map<String, Value> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone(), v.plain()))
            .collect()
    }

    /// Salt's `get_ini`/`get_section` view: no comment or unknown lines.
    pub fn visible(&self) -> Vec<(&str, &Item)> {
        self.entries
            .iter()
            .filter(|(k, _)| !k.starts_with('#'))
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }

    /// Salt's `_Ini.flush` text.
    pub fn render(&self, no_spaces: bool) -> String {
        let mut pieces = Vec::new();
        self.gen_ini(no_spaces, &mut pieces, true);
        if let Some(first) = pieces.first_mut() {
            *first = first.trim_start_matches('\n').to_string();
        }
        pieces.concat()
    }

    fn gen_ini(&self, no_spaces: bool, out: &mut Vec<String>, top: bool) {
        if !top {
            out.push(format!("\n[{}]\n", self.name));
        }
        let sep = if self.sep.chars().all(|c| c == ' ') {
            " ".to_string()
        } else if no_spaces {
            self.sep.trim().to_string()
        } else {
            format!(" {} ", self.sep.trim())
        };
        let mut sections = Vec::new();
        for (name, value) in &self.entries {
            match value {
                Item::Text(v) if comment_line().is_match(name) => out.push(format!("{v}\n")),
                Item::Section(s) => sections.push(s),
                Item::Text(v) => out.push(format!("{name}{sep}{v}\n")),
            }
        }
        for s in sections {
            s.gen_ini(no_spaces, out, false);
        }
    }
}

impl Item {
    /// A state's value as Salt's `update` takes it: a dict becomes a
    /// section, anything else its Python `str()`.
    pub fn from_value(key: &str, v: &Value, sep: &str) -> Item {
        match v {
            Value::Object(m) => {
                let mut s = Section::new(key, sep);
                for (k, v) in m {
                    s.update_item(k, Item::from_value(k, v, sep));
                }
                Item::Section(s)
            }
            v => Item::Text(py_str(v)),
        }
    }

    /// What changes show: the text, or the section as a dict.
    pub fn plain(&self) -> Value {
        match self {
            Item::Text(t) => Value::String(t.clone()),
            Item::Section(s) => Value::Object(s.as_dict()),
        }
    }
}

pub(super) fn before_after(before: Value, after: Value) -> Value {
    let mut m = Map::new();
    m.insert("before".into(), before);
    m.insert("after".into(), after);
    Value::Object(m)
}
