# Macros imported from another file (defaults, kwargs, caller), a local macro,
# include (sharing the context), and raw blocks.
{%- import "macros/files.jinja" as files %}
{%- from "macros/files.jinja" import wrap %}
{%- macro local(n) %}local-{{ n }}{% endmacro %}
{%- set source = 'site' %}
{{ files.conf('/etc/a.conf') }}
{{ files.conf('/etc/b.conf', mode=600, user='app', contents='b', replace=False) }}
{% call wrap('wrapped') %}
  from the caller
{% endcall %}

{{ local(1) }}:
  test.nop:
    - raw: "{% raw %}{{ not rendered }} {% if %}{% endraw %}"

{% include "snippets/common.jinja" %}
