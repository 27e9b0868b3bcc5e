//! Every state module's table: its functions and the arguments each reads
//! besides [`COMMON_ARGS`](super::COMMON_ARGS). Salt's names throughout; an
//! argument Salt has and Brine does not read is left out, since the executor
//! reports it as unknown.
//!
//! Not left to rustfmt, which would put every argument on a line of its own.
use super::Signature;

#[rustfmt::skip]
pub const ALTERNATIVES: &[Signature] = &[
    Signature::new("install", &["link", "path", "priority"]),
    Signature::new("remove", &["path"]),
    Signature::new("auto", &[]),
    Signature::new("set", &["path"]),
];

#[rustfmt::skip]
pub const ARCHIVE: &[Signature] = &[
    Signature::new("extracted", &[
        "archive_format", "clean", "clean_parent", "enforce_ownership_on", "enforce_toplevel",
        "extract_perms", "force", "group", "if_missing", "keep", "keep_source", "list_options",
        "options", "overwrite", "password", "skip_verify", "source", "source_hash",
        "source_hash_name", "source_hash_update", "trim_output", "use_cmd_unzip", "user",
    ]),
];

/// What `cmd.run`, `cmd.wait`, `cmd.watch` read.
#[rustfmt::skip]
const CMD_RUN_ARGS: &[&str] = &[
    "bg", "clean_env", "cwd", "env", "group", "hide_output", "ignore_timeout", "output_encoding",
    "output_loglevel", "password", "prepend_path", "reset_system_locale", "root", "rstrip",
    "shell", "stateful", "stdin", "stdin_raw_newlines", "success_retcodes", "success_stderr",
    "success_stdout", "template", "timeout", "umask", "use_vt", "windows_codepage",
];

/// What `cmd.script`, `cmd.wait_script` read.
#[rustfmt::skip]
const CMD_SCRIPT_ARGS: &[&str] = &[
    "args", "bg", "clean_env", "context", "cwd", "defaults", "env", "group", "hide_output",
    "ignore_timeout", "output_encoding", "output_loglevel", "password", "prepend_path",
    "reset_system_locale", "root", "rstrip", "shell", "source", "stateful", "stdin",
    "stdin_raw_newlines", "success_retcodes", "success_stderr", "success_stdout", "template",
    "timeout", "umask", "use_vt", "windows_codepage",
];

#[rustfmt::skip]
pub const CMD: &[Signature] = &[
    Signature::new("run", CMD_RUN_ARGS),
    Signature::new("wait", CMD_RUN_ARGS),
    Signature::new("watch", CMD_RUN_ARGS),
    Signature::new("script", CMD_SCRIPT_ARGS),
    Signature::new("wait_script", CMD_SCRIPT_ARGS),
];

/// What `cron.present`, `cron.absent` read.
#[rustfmt::skip]
const CRON_PRESENT_ARGS: &[&str] = &[
    "comment", "commented", "daymonth", "dayweek", "hour", "identifier", "minute", "month",
    "special", "user",
];

#[rustfmt::skip]
pub const CRON: &[Signature] = &[
    Signature::new("present", CRON_PRESENT_ARGS),
    // Salt's cron.absent takes and ignores **kwargs, so a present's
    // arguments can be flipped to absent unchanged.
    Signature::any("absent", CRON_PRESENT_ARGS),
    Signature::new("env_present", &["user", "value"]),
    Signature::new("env_absent", &["user"]),
];

#[rustfmt::skip]
pub const FILE: &[Signature] = &[
    Signature::new("managed", &[
        "allow_empty", "backup", "contents", "contents_delimiter", "contents_grains",
        "contents_newline", "contents_pillar", "context", "create", "defaults", "dir_mode",
        "follow_symlinks", "group", "keep_source", "makedirs", "mode", "owner", "replace",
        "show_changes", "skip_verify", "source", "source_hash", "source_hash_name", "template",
        "user",
    ]),
    Signature::new("directory", &[
        "allow_symlink", "backupname", "children_only", "clean", "dir_mode", "exclude_pat",
        "file_mode", "follow_symlinks", "force", "group", "makedirs", "max_depth", "mode", "owner",
        "recurse", "user",
    ]),
    Signature::new("absent", &[]),
    Signature::new("exists", &[]),
    Signature::new("missing", &[]),
    Signature::new("symlink", &[
        "atomic", "backupname", "force", "group", "makedirs", "mode", "owner", "target", "user",
    ]),
    Signature::new("recurse", &[
        "backup", "clean", "context", "defaults", "dir_mode", "exclude_pat", "file_mode",
        "force_symlinks", "group", "include_empty", "include_pat", "keep_source", "keep_symlinks",
        "maxdepth", "mode", "owner", "replace", "source", "sym_mode", "template", "user",
    ]),
    Signature::new("append", &[
        "context", "defaults", "ignore_whitespace", "makedirs", "source", "source_hash",
        "source_hashes", "sources", "template", "text",
    ]),
    Signature::new("replace", &[
        "append_if_not_found", "backslash_literal", "backup", "bufsize", "count", "flags",
        "ignore_if_missing", "not_found_content", "pattern", "prepend_if_not_found", "repl",
        "show_changes",
    ]),
    Signature::new("line", &[
        "after", "backup", "before", "content", "create", "file_mode", "group", "indent",
        "location", "match", "mode", "quiet", "show_changes", "user",
    ]),
    Signature::new("accumulated", &["filename", "text"]),
    Signature::new("blockreplace", &[
        "append_if_not_found", "append_newline", "backup", "content", "context", "defaults",
        "insert_after_match", "insert_before_match", "marker_end", "marker_start",
        "prepend_if_not_found", "show_changes", "source", "source_hash", "source_hashes",
        "sources", "template",
    ]),
    Signature::new("comment", &["backup", "char", "ignore_missing", "regex"]),
    Signature::new("uncomment", &["backup", "char", "regex"]),
    Signature::new("touch", &["atime", "makedirs", "mtime"]),
    Signature::new("copy", &[
        "dir_mode", "force", "group", "makedirs", "mode", "owner", "preserve", "source", "subdir",
        "user",
    ]),
    Signature::new("serialize", &[
        "backup", "create", "dataset", "dataset_pillar", "deserializer_opts", "encoding",
        "formatter", "group", "makedirs", "merge_if_exists", "mode", "owner", "serializer",
        "serializer_opts", "show_changes", "user",
    ]),
];

#[rustfmt::skip]
pub const GIT: &[Signature] = &[
    Signature::new("latest", &[
        "bare", "branch", "depth", "fetch_tags", "force_checkout", "force_clone", "force_fetch",
        "force_reset", "https_pass", "https_user", "identity", "mirror", "output_encoding",
        "password", "refspec_branch", "refspec_tag", "remote", "rev", "submodules", "sync_tags",
        "target", "update_head", "user",
    ]),
    Signature::new("config_set", &["global", "multivar", "repo", "user", "value"]),
    Signature::new("config_unset", &["all", "global", "repo", "user", "value_regex"]),
];

#[rustfmt::skip]
pub const HOST: &[Signature] = &[
    Signature::new("present", &["clean", "comment", "ip"]),
    Signature::new("absent", &["ip"]),
    Signature::new("only", &["hostnames"]),
];

#[rustfmt::skip]
pub const ALIAS: &[Signature] = &[
    Signature::new("present", &["target"]),
    Signature::new("absent", &[]),
];

#[rustfmt::skip]
pub const INI: &[Signature] = &[
    Signature::new("options_present", &["encoding", "no_spaces", "sections", "separator", "strict"]),
    Signature::new("options_absent", &["encoding", "sections", "separator"]),
    Signature::new("sections_present", &["encoding", "sections", "separator"]),
];

#[rustfmt::skip]
pub const SSH_KNOWN_HOSTS: &[Signature] = &[
    Signature::new("present", &[
        "config", "enc", "fingerprint", "fingerprint_hash_type", "hash_known_hosts", "key", "port",
        "timeout", "user",
    ]),
    Signature::new("absent", &["config", "user"]),
];

#[rustfmt::skip]
pub const GROUP: &[Signature] = &[
    Signature::new("present", &[
        "addusers", "delusers", "gid", "local", "members", "non_unique", "system",
    ]),
    Signature::new("absent", &["local"]),
];

/// What `pkg.removed`, `pkg.purged` read.
#[rustfmt::skip]
const PKG_REMOVED_ARGS: &[&str] = &[
    "ignore_epoch", "normalize", "pkgs", "version",
];

#[rustfmt::skip]
pub const PKG: &[Signature] = &[
    Signature::new("installed", &[
        "fromrepo", "hold", "ignore_epoch", "install_recommends", "normalize", "pkgs", "refresh",
        "skip_verify", "sources", "version",
    ]),
    Signature::new("latest", &[
        "fromrepo", "install_recommends", "normalize", "pkgs", "refresh", "skip_verify",
    ]),
    Signature::new("removed", PKG_REMOVED_ARGS),
    Signature::new("purged", PKG_REMOVED_ARGS),
];

#[rustfmt::skip]
pub const PKGREPO: &[Signature] = &[
    Signature::new("managed", &[
        "allow_insecure_key", "aptkey", "architectures", "clean_file", "comments", "comps",
        "consolidate", "disabled", "enabled", "file", "key_text", "key_url", "keyid", "keyserver",
        "ppa", "ppa_auth", "refresh", "refresh_db", "repo",
    ]),
    Signature::new("absent", &["keyid", "keyid_ppa", "ppa", "ppa_auth", "refresh", "refresh_db"]),
];

#[rustfmt::skip]
pub const SERVICE: &[Signature] = &[
    Signature::new("running", &[
        "enable", "enabled", "force", "full_restart", "init_delay", "reload", "sig", "unmask",
        "unmask_runtime",
    ]),
    Signature::new("dead", &["enable", "enabled", "init_delay", "sig"]),
    Signature::new("enabled", &[]),
    Signature::new("disabled", &[]),
    Signature::new("masked", &["runtime"]),
    Signature::new("unmasked", &["runtime"]),
];

/// What `ssh_auth.present`, `ssh_auth.absent` read.
#[rustfmt::skip]
const SSH_AUTH_PRESENT_ARGS: &[&str] = &[
    "comment", "config", "enc", "fingerprint_hash_type", "options", "source", "user",
];

#[rustfmt::skip]
pub const SSH_AUTH: &[Signature] = &[
    Signature::new("present", SSH_AUTH_PRESENT_ARGS),
    Signature::new("absent", SSH_AUTH_PRESENT_ARGS),
];

#[rustfmt::skip]
pub const SYSCTL: &[Signature] = &[
    Signature::new("present", &["config", "value"]),
];

pub const TIMEZONE: &[Signature] = &[Signature::new("system", &["utc"])];

pub const LOCALE: &[Signature] = &[
    Signature::new("present", &[]),
    Signature::new("system", &[]),
];

#[rustfmt::skip]
pub const MOUNT: &[Signature] = &[
    Signature::new("mounted", &[
        "bind_mount_copy_active_opts", "config", "device", "device_name_regex", "dump",
        "extra_mount_ignore_fs_keys", "extra_mount_invisible_keys",
        "extra_mount_invisible_options", "extra_mount_translate_options", "fstype",
        "hidden_opts", "match_on", "mkmnt", "mount", "opts", "pass_num", "persist", "user",
    ]),
    Signature::new("unmounted", &["config", "device", "persist", "user"]),
];

#[rustfmt::skip]
pub const GEM: &[Signature] = &[
    Signature::new("installed", &[
        "gem_bin", "pre_releases", "proxy", "rdoc", "ri", "ruby", "source", "user", "version",
    ]),
    Signature::new("removed", &["gem_bin", "ruby", "user"]),
];

#[rustfmt::skip]
pub const NPM: &[Signature] = &[
    Signature::new("installed", &[
        "dir", "env", "force_reinstall", "pkgs", "registry", "user",
    ]),
    Signature::new("removed", &["dir", "user"]),
];

/// Salt's debconf.set takes and ignores **kwargs.
pub const DEBCONF: &[Signature] = &[Signature::any("set", &["data"])];

/// Salt's test functions take **kwargs: formulas pass them anything.
#[rustfmt::skip]
pub const TEST: &[Signature] = &[
    Signature::any("nop", &[]),
    Signature::any("succeed_without_changes", &[]),
    Signature::any("fail_without_changes", &[]),
    Signature::any("succeed_with_changes", &[]),
    Signature::any("fail_with_changes", &[]),
    Signature::any("configurable_test_state", &[
        "allow_test_mode_failure", "changes", "comment", "result", "warnings",
    ]),
    Signature::any("show_notification", &["text"]),
];

/// Salt's `module.run` takes the functions (new syntax) or the function's
/// arguments (legacy) as **kwargs: any key is accepted and read.
#[rustfmt::skip]
pub const MODULE: &[Signature] = &[
    Signature::any("run", &[]),
    Signature::any("wait", &[]),
    Signature::any("watch", &[]),
];

#[rustfmt::skip]
pub const USER: &[Signature] = &[
    Signature::new("present", &[
        "allow_gid_change", "allow_uid_change", "createhome", "date", "empty_password",
        "enforce_password", "expire", "fullname", "gid", "groups", "hash_password", "home",
        "homephone", "inactdays", "local", "loginclass", "maxdays", "mindays", "nologinit",
        "optional_groups", "other", "password", "password_lock", "remove_groups", "roomnumber",
        "shell", "system", "uid", "unique", "usergroup", "warndays", "win_description",
        "win_homedrive", "win_logonscript", "win_profile", "workphone",
    ]),
    Signature::new("absent", &["force", "local", "purge"]),
];

/// What the `mod_watch` of each watchable module reads besides the
/// watching function's own arguments (`sfun` is the executor's).
#[rustfmt::skip]
pub const SERVICE_MOD_WATCH: Signature = Signature::new("mod_watch", &["sfun", "reload", "force", "full_restart"]);
#[rustfmt::skip]
pub const CMD_MOD_WATCH: Signature = Signature::new("mod_watch", &["sfun"]);
#[rustfmt::skip]
pub const TEST_MOD_WATCH: Signature = Signature::any("mod_watch", &["result", "comment", "changes"]);
#[rustfmt::skip]
pub const MODULE_MOD_WATCH: Signature = Signature::any("mod_watch", &["sfun"]);

#[rustfmt::skip]
pub const PIP: &[Signature] = &[
    Signature::new("installed", &[
        "bin_env", "cwd", "env_vars", "extra_index_url", "find_links", "index_url", "no_index",
        "pkgs", "requirements", "upgrade", "user",
    ]),
    Signature::new("removed", &["bin_env", "cwd", "user"]),
];

#[rustfmt::skip]
pub const VIRTUALENV: &[Signature] = &[
    Signature::new("managed", &[
        "cwd", "env_vars", "extra_index_url", "find_links", "index_url", "no_index", "pip_pkgs",
        "pip_upgrade", "python", "requirements", "system_site_packages", "user", "venv_bin",
    ]),
];
