# use copies the non-requisite arguments of the target into this state;
# use_in is the inverse.
/etc/app/main.conf:
  file.managed:
    - user: app
    - group: app
    - mode: 640
    - contents: main
    - require:
      - pkg: app

/etc/app/extra.conf:
  file.managed:
    - contents: extra
    - use:
      - file: /etc/app/main.conf

/etc/app/template.conf:
  file.managed:
    - user: root
    - mode: 600
    - use_in:
      - file: /etc/app/late.conf

/etc/app/late.conf:
  file.managed:
    - contents: late

app:
  pkg.installed: []
