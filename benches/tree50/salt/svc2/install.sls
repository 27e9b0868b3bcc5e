{%- from tpldir ~ '/map.jinja' import svc2 with context %}
svc2-pkg:
  pkg.installed:
    - name: {{ svc2.pkg }}
{%- for extra in svc2.pkg_extra %}
svc2-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
