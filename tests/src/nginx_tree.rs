//! The nginx state tree the fleet tests apply (masterless and through a
//! master): nginx-light installed and running, its site managed from a
//! template and watched, so a changed site restarts nginx once.
use crate::fleet::Container;

pub const TOP: &str = "base:\n  '*':\n    - web\n";
pub const PILLAR_TOP: &str = "base:\n  '*':\n    - web\n";

/// Where the site lives, and the port it listens on.
pub const SITE_PATH: &str = "/etc/nginx/sites-enabled/brine.conf";
pub const SITE_PORT: u16 = 8080;

pub const WEB: &str = "\
nginx:
  pkg.installed:
    - name: nginx-light
  service.running:
    - enable: True
    - watch:
      - file: site

site:
  file.managed:
    - name: /etc/nginx/sites-enabled/brine.conf
    - source: salt://site.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: 8080
    - require:
      - pkg: nginx
";

/// The site as a master renders it for each minion: pillar and that
/// minion's grains.
pub const SITE_PER_MINION: &str = "\
# Managed by Brine
server {
    listen {{ port }};
    location / { return 200 \"{{ pillar['greeting'] }} from {{ grains['id'] }}\\n\"; }
}
";

/// nginx's main process id in `c`.
pub fn main_pid(c: &Container) -> String {
    c.run("systemctl show --property=MainPID --value nginx")
}

/// How many times systemd has started nginx in `c` (restarts included).
pub fn starts(c: &Container) -> usize {
    c.run("journalctl -u nginx -o cat --no-pager | grep -c '^Started' || true")
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_path_and_port_are_those_of_the_tree() {
        assert!(WEB.contains(&format!("- name: {SITE_PATH}\n")));
        assert!(WEB.contains(&format!("port: {SITE_PORT}\n")));
    }
}
