# names: expands one declaration into one chunk per name, plain names and
# names carrying their own arguments (which override the shared ones).
base-packages:
  pkg.installed:
    - names:
      - curl
      - git
      - htop
    - refresh: False

app-dirs:
  file.directory:
    - user: root
    - mode: 755
    - names:
      - /srv/app
      - /srv/app/logs:
        - mode: 750
        - user: app
      - /srv/app/tmp:
        - makedirs: True

services:
  service.running:
    - names:
      - nginx
      - postgresql:
        - enable: False
    - require:
      - pkg: base-packages
