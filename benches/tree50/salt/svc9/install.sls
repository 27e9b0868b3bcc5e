{%- from tpldir ~ '/map.jinja' import svc9 with context %}
svc9-pkg:
  pkg.installed:
    - name: {{ svc9.pkg }}
{%- for extra in svc9.pkg_extra %}
svc9-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
