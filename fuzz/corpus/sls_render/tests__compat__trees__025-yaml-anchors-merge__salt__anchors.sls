# Anchors, aliases and merge keys (<<) in state data. A local key may override
# a key from a single merged map; the merged keys come first. (Salt's loader
# calls a key shared by a merge *list* and the map "found conflicting ID".)
/etc/app/a.conf:
  file.managed:
    - contents: a
    - context: &file_defaults
        user: root
        group: root
        mode: 644

/etc/app/b.conf:
  file.managed:
    - context:
        <<: *file_defaults
        mode: 600
        extra: yes

/etc/app/c.conf:
  file.managed:
    - context:
        <<: [*file_defaults, {owner: app}]
        name: c
    - names: &confs
      - /etc/app/c.conf
      - /etc/app/d.conf

listing:
  test.nop:
    - files: *confs
    - scalar: &s hello
    - again: *s
    - whole: *file_defaults
