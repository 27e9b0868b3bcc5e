include:
  - nginx

{%- set origin = salt['pillar.get']('app:repo') %}
{%- set rev = salt['pillar.get']('app:rev', 'main') %}

# The repository the checkout clones is made on this host from the files
# beside this SLS, so the example needs no network. A real tree names its own
# remote in pillar (app:repo) and drops these two states.
app_origin_files:
  file.managed:
    - name: /srv/app-origin/src/public/index.html
    - source: salt://app/files/index.html
    - makedirs: True

app_origin:
  cmd.run:
    - name: >-
        git init -q &&
        git symbolic-ref HEAD refs/heads/{{ rev }} &&
        git add -A &&
        git -c user.name=brine -c user.email=brine@localhost commit -q -m 'example app' &&
        git clone -q --bare . {{ origin }}
    - cwd: /srv/app-origin/src
    - creates: {{ origin }}
    - require:
      - file: app_origin_files

app_checkout:
  git.latest:
    - name: {{ origin }}
    - target: /srv/app
    - rev: {{ rev }}
    # git.latest asks the remote for its refs even in a dry run, and on a
    # fresh host the origin does not exist until app_origin runs: a require
    # alone would report the checkout failed. Until the origin exists the
    # dry run reports the checkout skipped; a real run makes it first.
    - onlyif: test -d {{ origin }}
    - require:
      - cmd: app_origin
    - require_in:
      - service: nginx
