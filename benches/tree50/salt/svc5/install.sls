{%- from tpldir ~ '/map.jinja' import svc5 with context %}
svc5-pkg:
  pkg.installed:
    - name: {{ svc5.pkg }}
{%- for extra in svc5.pkg_extra %}
svc5-extra-{{ extra }}:
  pkg.installed:
    - name: {{ extra }}
{%- endfor %}
