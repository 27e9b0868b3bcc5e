# Pillar include: included files merge first, then this file; a relative
# include, and includes placed under a key (with and without defaults).
include:
  - common.base
  - .shared
  - nested:
      key: nested_key
  - common.extra:
      key: under
      defaults:
        from_defaults: {{ grains['os'] }}

site: main
shared:
  from_site: yes
