{% set app = pillar['app'] %}
app-packages:
  pkg.installed:
    - pkgs:
      - python3-venv
      - nginx-light

app-code:
  git.latest:
    - name: {{ app['repo'] }}
    - target: /srv/app/code
    - rev: main

app-wheelhouse:
  file.recurse:
    - name: /srv/app/wheels
    - source: salt://wheels

app-venv:
  virtualenv.managed:
    - name: /srv/app/venv
    - require:
      - pkg: app-packages

app-requirements:
  pip.installed:
    - requirements: /srv/app/code/requirements.txt
    - bin_env: /srv/app/venv
    - find_links: /srv/app/wheels
    - no_index: True
    - require:
      - virtualenv: app-venv
      - git: app-code
      - file: app-wheelhouse

app-migrate:
  cmd.run:
    - name: /srv/app/venv/bin/python /srv/app/code/migrate.py
    - onchanges:
      - git: app-code
    - require:
      - pip: app-requirements

app-settings:
  file.managed:
    - name: /etc/brine-app/settings.json
    - source: salt://app/settings.json.j2
    - template: jinja
    - makedirs: True
    - mode: '0644'

app-unit:
  file.managed:
    - name: /etc/systemd/system/brine-app.service
    - source: salt://app/brine-app.service
    - mode: '0644'

app-service:
  service.running:
    - name: brine-app
    - enable: True
    - require:
      - cmd: app-migrate
      - file: app-unit
    - watch:
      - git: app-code
      - pip: app-requirements
      - file: app-settings

nginx-default-site:
  file.absent:
    - name: /etc/nginx/sites-enabled/default
    - require:
      - pkg: app-packages

nginx-site:
  file.managed:
    - name: /etc/nginx/sites-enabled/brine-app.conf
    - source: salt://app/nginx.conf.j2
    - template: jinja
    - mode: '0644'
    - require:
      - pkg: app-packages

nginx:
  service.running:
    - enable: True
    - watch:
      - file: nginx-site
      - file: nginx-default-site
