//! `user.present` / `user.absent` (salt/states/user.py over
//! salt/modules/useradd.py and linux_shadow.py), with Salt's comments and
//! changes.
//!
//! The account databases are read from `<root>/etc/{passwd,group,shadow}`;
//! changes go through `useradd`/`usermod`/`userdel` with argv (and
//! `--prefix ROOT` under a test or swarm root). Where Salt runs one command
//! per attribute, Brine sets every attribute in one `usermod` (and creates a
//! user with its groups, GECOS and password in one `useradd`), so a failure
//! cannot leave half of the changes made.
mod diff;

use common::data::{Map, Value};
use common::pyfmt::py_str;

use super::accounts::{self, prefix_args, Accounts, Passwd, Shadow};
use super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use diff::{Change, Gecos, Wanted, GECOS_KEYS};

pub struct User;

impl super::StateModule for User {
    fn name(&self) -> &'static str {
        "user"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::USER
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            other => Err(StateError::args(format!(
                "user.{other} is not a state function"
            ))),
        }
    }
}

const REDACTED: &str = "XXX-REDACTED-XXX";

/// Salt arguments Brine does not implement yet; refused, not ignored.
const NOT_SUPPORTED: &[&str] = &[
    "mindays",
    "maxdays",
    "inactdays",
    "warndays",
    "date",
    "expire",
    "loginclass",
    "win_homedrive",
    "win_profile",
    "win_logonscript",
    "win_description",
];

/// Everything `user.present` reads.
struct Present {
    w: Wanted,
    /// The state's own `gid` (Salt compares `usergroup`'s name instead).
    gid: Option<String>,
    usergroup: Option<bool>,
    unique: bool,
    system: bool,
    nologinit: bool,
    allow_uid_change: bool,
    allow_gid_change: bool,
    missing_groups: Vec<String>,
    bad_gecos: Option<String>,
}

fn read_present(args: &Args, host: &HostRead) -> Result<Present, StateError> {
    for key in NOT_SUPPORTED {
        if args.get(key).is_some() {
            return Err(StateError::args(format!(
                "user.present: '{key}' is not supported by Brine yet"
            )));
        }
    }
    if args.bool_or("local", false)? {
        return Err(StateError::args(
            "user.present: 'local' (luseradd from libuser) is not supported",
        ));
    }
    let name = args.name();
    let password = args.str("password")?;
    if args.bool_or("hash_password", false)? && password.is_some() {
        return Err(StateError::args(
            "user.present: hash_password is not supported yet; give 'password' as a crypt hash \
             (e.g. the output of `openssl passwd -6`)",
        ));
    }
    let uid =
        match args.get("uid") {
            None => None,
            Some(v) => Some(py_str(v).trim().parse::<u32>().map_err(|_| {
                StateError::args(format!("'uid' must be a number, got {}", py_str(v)))
            })?),
        };
    let gid = args.get("gid").map(py_str).filter(|g| !g.is_empty());
    let text = |key: &str| -> Result<Option<String>, StateError> { Ok(args.get(key).map(py_str)) };
    let gecos = Gecos {
        fullname: text("fullname")?,
        roomnumber: text("roomnumber")?,
        workphone: text("workphone")?,
        homephone: text("homephone")?,
        other: text("other")?,
    };
    // The comma separates GECOS fields: Salt refuses it in these three.
    let bad_gecos = [&gecos.fullname, &gecos.roomnumber, &gecos.workphone]
        .into_iter()
        .flatten()
        .find(|v| v.contains(','))
        .map(|v| format!("Unsupported char ',' in {v}"));
    let groups = args.str_list("groups")?;
    let optional = args.str_list("optional_groups")?;
    let usergroup = match args.get("usergroup") {
        None => None,
        Some(_) => Some(args.bool_or("usergroup", false)?),
    };
    let password_lock = match args.get("password_lock") {
        None => None,
        Some(_) => Some(args.bool_or("password_lock", false)?),
    };
    let acc = Accounts::read(host)?;
    let missing_groups: Vec<String> = groups
        .iter()
        .flatten()
        .filter(|g| acc.group(g).is_none())
        .cloned()
        .collect();
    let optional_groups = optional
        .filter(|o| !o.is_empty())
        .map(|o| o.into_iter().filter(|g| acc.group(g).is_some()).collect());
    // Salt compares against the user's own group when usergroup makes one.
    let compare_gid = if usergroup == Some(true) && acc.group(&name).is_some() {
        Some(name.clone())
    } else {
        gid.clone()
    };
    Ok(Present {
        w: Wanted {
            name,
            uid,
            gid: compare_gid,
            groups,
            optional_groups,
            remove_groups: args.bool_or("remove_groups", true)?,
            home: args.str("home")?.filter(|h| !h.is_empty()),
            createhome: args.bool_or("createhome", true)?,
            password,
            enforce_password: args.bool_or("enforce_password", true)?,
            empty_password: args.bool_or("empty_password", false)?,
            shell: args.str("shell")?.filter(|s| !s.is_empty()),
            gecos,
            password_lock,
        },
        gid,
        usergroup,
        unique: args.bool_or("unique", true)?,
        system: args.bool_or("system", false)?,
        nologinit: args.bool_or("nologinit", false)?,
        allow_uid_change: args.bool_or("allow_uid_change", false)?,
        allow_gid_change: args.bool_or("allow_gid_change", false)?,
        missing_groups,
        bad_gecos,
    })
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let p = read_present(args, host)?;
    if let Some(comment) = p.bad_gecos.clone() {
        return Ok(Check::fail(comment));
    }
    if !p.missing_groups.is_empty() {
        return Ok(Check::fail(format!(
            "The following group(s) are not present: {}",
            p.missing_groups.join(",")
        )));
    }
    let acc = Accounts::read(host)?;
    let Some(user) = acc.user(&p.w.name).cloned() else {
        return Ok(Check::change(
            Map::new(),
            format!("User {} set to be added", p.w.name),
            ApplyFn(move |host: &HostWrite| create(host, p)),
        ));
    };
    let shadow = accounts::shadow(host, &p.w.name)?;
    let todo = diff::changes(&acc, &user, shadow.as_ref(), &p.w, host.root());
    let errors = diff::forbidden(&todo, &user, &p.w, p.allow_uid_change, p.allow_gid_change);
    if !errors.is_empty() {
        let mut comment =
            "Encountered error checking for needed changes. Additional info follows:\n".to_string();
        for e in &errors {
            comment.push_str(&format!("\n- {e}"));
        }
        return Ok(Check::fail(comment));
    }
    if todo.is_empty() {
        return Ok(Check::clean(format!(
            "User {} is present and up to date",
            p.w.name
        )));
    }
    let mut comment = "The following user attributes are set to be changed:\n".to_string();
    for c in &todo {
        comment.push_str(&format!("{}: {}\n", c.key(), c.shown()));
    }
    let pre_info = info(&acc, &user);
    Ok(Check::change(
        Map::new(),
        comment,
        ApplyFn(move |host: &HostWrite| update(host, p, user, pre_info, shadow, todo)),
    ))
}

/// Salt's `user.info`.
fn info(acc: &Accounts, u: &Passwd) -> Map<String, Value> {
    let g = diff::gecos_fields(&u.gecos);
    let mut m = Map::new();
    m.insert("gid".into(), u.gid.into());
    m.insert("groups".into(), acc.user_groups(&u.name).into());
    m.insert("home".into(), u.home.clone().into());
    m.insert("name".into(), u.name.clone().into());
    m.insert("passwd".into(), u.passwd.clone().into());
    m.insert("shell".into(), u.shell.clone().into());
    m.insert("uid".into(), u.uid.into());
    for (k, v) in GECOS_KEYS.iter().zip(g) {
        m.insert((*k).into(), v.into());
    }
    m
}

/// Salt's `shadow.info`.
fn shadow_info(s: Option<&Shadow>) -> Map<String, Value> {
    let mut m = Map::new();
    let Some(s) = s else {
        for k in [
            "name", "passwd", "lstchg", "min", "max", "warn", "inact", "expire",
        ] {
            m.insert(k.into(), "".into());
        }
        return m;
    };
    m.insert("name".into(), s.name.clone().into());
    m.insert("passwd".into(), s.passwd.clone().into());
    for (k, v) in [
        ("lstchg", s.lstchg),
        ("min", s.min),
        ("max", s.max),
        ("warn", s.warn),
        ("inact", s.inact),
        ("expire", s.expire),
    ] {
        m.insert(k.into(), v.into());
    }
    m
}

/// Salt's `_build_gecos`: five fields, trailing commas trimmed.
fn build_gecos(fields: &[String; 5]) -> String {
    fields.join(",").trim_end_matches(',').to_string()
}

fn run_tool(host: &HostWrite, argv: &[String]) -> Result<(), String> {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    match host.run(&argv, &[], None) {
        Ok(out) if out.retcode == 0 => Ok(()),
        Ok(out) => Err(format!("{}: {}", argv[0], out.stderr.trim())),
        Err(e) => Err(e.to_string()),
    }
}

fn update(
    host: &HostWrite,
    p: Present,
    pre: Passwd,
    pre_info: Map<String, Value>,
    pre_shadow: Option<Shadow>,
    todo: Vec<Change>,
) -> Result<Applied, StateError> {
    let name = p.w.name.clone();
    let mut argv: Vec<String> = vec!["usermod".into()];
    argv.extend(prefix_args(host));
    let mut gecos = diff::gecos_fields(&pre.gecos);
    let mut gecos_changed = false;
    let mut lock = None;
    let mut make_home = None;
    for c in &todo {
        match c {
            Change::Uid(uid) => {
                argv.extend(["-u".into(), uid.to_string()]);
                if !p.unique {
                    argv.push("-o".into());
                }
            }
            Change::Gid(gid) => argv.extend(["-g".into(), gid.clone()]),
            Change::Groups(groups) => {
                if !p.w.remove_groups {
                    argv.push("-a".into());
                }
                argv.extend(["-G".into(), groups.join(",")]);
            }
            Change::Home(home) => argv.extend(["-d".into(), home.clone()]),
            Change::HomeDoesNotExist(home) => make_home = Some(home.clone()),
            Change::Shell(shell) => argv.extend(["-s".into(), shell.clone()]),
            Change::Passwd(hash) => {
                let hash = match p.w.password_lock {
                    Some(true) => format!("!{hash}"),
                    _ => hash.clone(),
                };
                argv.extend(["-p".into(), hash]);
            }
            Change::EmptyPassword => argv.extend(["-p".into(), String::new()]),
            Change::PasswordLock(l) => lock = Some(*l),
            Change::Gecos(i, v) => {
                gecos[*i] = v.clone();
                gecos_changed = true;
            }
        }
    }
    if gecos_changed {
        argv.extend(["-c".into(), build_gecos(&gecos)]);
    }
    let mut errors = Vec::new();
    if argv.len() > 1 + prefix_args(host).len() {
        argv.push(name.clone());
        errors.extend(run_tool(host, &argv).err());
    }
    // A new password was already written with its "!" when it is to be locked.
    let relocked = todo.iter().any(|c| matches!(c, Change::Passwd(_)));
    if let Some(l) = lock.filter(|l| !(*l && relocked)) {
        let mut argv: Vec<String> = vec!["usermod".into()];
        argv.extend(prefix_args(host));
        argv.extend([if l { "-L" } else { "-U" }.into(), name.clone()]);
        errors.extend(run_tool(host, &argv).err());
    }
    let acc = Accounts::read(host)?;
    let Some(post) = acc.user(&name).cloned() else {
        return Ok(Applied::failed(
            format!("User {name} disappeared"),
            Map::new(),
        ));
    };
    if let Some(home) = make_home {
        errors.extend(make_home_dir(host, &home, post.uid, post.gid).err());
    }
    // Salt reports what actually differs afterwards, not what it asked for.
    let mut changed = Map::new();
    for (k, v) in info(&acc, &post) {
        if pre_info.get(&k) != Some(&v) {
            changed.insert(k, v);
        }
    }
    let post_shadow = accounts::shadow(host, &name)?;
    let (sa, sb) = (
        shadow_info(pre_shadow.as_ref()),
        shadow_info(post_shadow.as_ref()),
    );
    for (k, v) in &sb {
        if sa.get(k) != Some(v) {
            let shown = if k == "passwd" {
                REDACTED.into()
            } else {
                v.clone()
            };
            changed.insert(k.clone(), shown);
        }
    }
    let mut comment = if changed.is_empty() {
        format!("User {name} is present and up to date")
    } else {
        format!("Updated user {name}")
    };
    let left = diff::changes(&acc, &post, post_shadow.as_ref(), &p.w, host.root());
    if left.is_empty() {
        return Ok(Applied::ok_with(comment, changed));
    }
    let items: Vec<String> = left
        .iter()
        .map(|c| format!("'{}': {}", c.key(), c.repr()))
        .collect();
    comment = format!(
        "These values could not be changed: {{{}}}",
        items.join(", ")
    );
    for e in errors {
        comment.push_str(&format!("\n{e}"));
    }
    Ok(Applied::failed(comment, changed))
}

/// Salt's `file.mkdir(home, uid, gid, 0755)` for a home that is missing.
fn make_home_dir(host: &HostWrite, home: &str, uid: u32, gid: u32) -> Result<(), String> {
    let path = host.path(home).map_err(|e| e.to_string())?;
    let err = |e: std::io::Error| format!("cannot create {home}: {e}");
    host.create_dir_all(&path).map_err(err)?;
    host.set_mode(&path, 0o755).map_err(err)?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        host.chown(&path, Some(uid), Some(gid)).map_err(err)?;
    }
    Ok(())
}

fn create(host: &HostWrite, p: Present) -> Result<Applied, StateError> {
    let name = p.w.name.clone();
    let w = &p.w;
    let mut argv: Vec<String> = vec!["useradd".into()];
    argv.extend(prefix_args(host));
    if let Some(shell) = &w.shell {
        argv.extend(["-s".into(), shell.clone()]);
    }
    if let Some(uid) = w.uid {
        argv.extend(["-u".into(), uid.to_string()]);
    }
    let mut groups: Vec<String> = w.groups.clone().unwrap_or_default();
    groups.extend(w.optional_groups.iter().flatten().cloned());
    if let Some(gid) = &p.gid {
        argv.extend(["-g".into(), gid.clone()]);
    } else if p.usergroup == Some(true) {
        argv.push("-U".into());
    } else if groups.contains(&name) && usergroups_enabled(host) {
        // useradd would try to create a group of the user's name, which
        // exists: use it as the primary group instead (as Salt does).
        if let Some(g) = Accounts::read(host)?.group(&name) {
            argv.extend(["-g".into(), g.gid.to_string()]);
        }
    }
    if p.usergroup == Some(false) {
        argv.push("-N".into());
    }
    argv.push(if w.createhome { "-m" } else { "-M" }.into());
    if p.nologinit {
        argv.push("-l".into());
    }
    if let Some(home) = &w.home {
        argv.extend(["-d".into(), home.clone()]);
    }
    if !p.unique {
        argv.push("-o".into());
    }
    if p.system {
        argv.push("-r".into());
    }
    if !groups.is_empty() {
        argv.extend(["-G".into(), groups.join(",")]);
    }
    let gecos: [String; 5] =
        std::array::from_fn(|i| w.gecos.fields()[i].clone().unwrap_or_default());
    if gecos.iter().any(|f| !f.is_empty()) {
        argv.extend(["-c".into(), build_gecos(&gecos)]);
    }
    let password = w
        .password
        .clone()
        .filter(|p| !p.is_empty() && !w.empty_password);
    let hash = match (&password, w.empty_password) {
        (Some(h), _) if w.password_lock == Some(true) => Some(format!("!{h}")),
        (Some(h), _) => Some(h.clone()),
        (None, true) => Some(String::new()),
        (None, false) => None,
    };
    if let Some(h) = &hash {
        argv.extend(["-p".into(), h.clone()]);
    }
    argv.push(name.clone());
    if let Err(e) = run_tool(host, &argv) {
        return Ok(Applied::failed(
            format!("Failed to create new user {name}: {e}"),
            Map::new(),
        ));
    }
    let acc = Accounts::read(host)?;
    let Some(post) = acc.user(&name) else {
        return Ok(Applied::failed(
            format!("Failed to create new user {name}"),
            Map::new(),
        ));
    };
    let mut changes = info(&acc, post);
    if !w.createhome {
        changes.insert("home".into(), "".into());
    }
    let shadow = accounts::shadow(host, &name)?;
    let stored = shadow.as_ref().map_or("", |s| s.passwd.as_str());
    let mut result = true;
    let mut comment = format!("New user {name} created");
    if password.is_some() {
        changes.insert("password".into(), REDACTED.into());
        if Some(stored) != hash.as_deref() {
            result = false;
            comment = format!("User {name} created but failed to set password to {REDACTED}");
        }
    } else if w.empty_password {
        changes.insert("password".into(), "".into());
        if !stored.is_empty() {
            result = false;
            comment = format!("User {name} created but failed to empty password");
        }
    }
    Ok(Applied {
        result,
        comment,
        changes: Some(changes),
    })
}

/// `USERGROUPS_ENAB yes` in the root's login.defs.
fn usergroups_enabled(host: &HostRead) -> bool {
    host.path("/etc/login.defs")
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| {
            text.lines()
                .find(|l| l.get(..15).is_some_and(|h| h.contains("USERGROUPS_ENAB")))
                .map(|l| l.contains("yes"))
        })
        .unwrap_or(false)
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let purge = args.bool_or("purge", false)?;
    let force = args.bool_or("force", false)?;
    if args.bool_or("local", false)? {
        return Err(StateError::args(
            "user.absent: 'local' (luserdel from libuser) is not supported",
        ));
    }
    let acc = Accounts::read(host)?;
    if acc.user(&name).is_none() {
        return Ok(Check::clean(format!("User {name} is not present")));
    }
    let before = acc.user_groups(&name);
    Ok(Check::change(
        Map::new(),
        format!("User {name} set for removal"),
        ApplyFn(move |host: &HostWrite| {
            let mut argv: Vec<String> = vec!["userdel".into()];
            argv.extend(prefix_args(host));
            if purge {
                argv.push("-r".into());
            }
            if force {
                argv.push("-f".into());
            }
            argv.push(name.clone());
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let out = host.run(&refs, &[], None)?;
            // Debian's userdel exits 12 when only the mail spool was missing.
            let ok = out.retcode == 0
                || (out.retcode == 12
                    && (out.stderr.contains("var/mail") || out.stderr.contains("var/spool/mail")));
            if !ok {
                return Ok(Applied::failed(
                    format!("Failed to remove user {name}: {}", out.stderr.trim()),
                    Map::new(),
                ));
            }
            let after = Accounts::read(host)?;
            let mut changes = Map::new();
            for g in before.iter().filter(|g| after.group(g).is_none()) {
                changes.insert(format!("{g} group"), "removed".into());
            }
            changes.insert(name.clone(), "removed".into());
            Ok(Applied::ok_with(format!("Removed user {name}"), changes))
        }),
    ))
}

#[cfg(test)]
mod tests;
