# Values printed straight into the template use Python's str()/repr() form,
# which YAML then re-reads. Quoted forms keep the text as the template made it.
{%- set d = salt['pillar.get']('data') %}
printed:
  test.nop:
    - list: {{ [1, 2] }}
    - list_q: "{{ [1, 'a', none, true] }}"
    - dict: {{ {'b': 1, 'a': 'x'} }}
    - dict_q: "{{ {'b': 1, 'a': 'x'} }}"
    - true_: {{ True }}
    - true_q: "{{ True }}"
    - none_: {{ none }}
    - none_q: "{{ none }}"
    - none_upper_q: "{{ None }}"
    - float_q: "{{ 1.0 }}"
    - float_int: {{ 3.0 }}
    - division: "{{ 7 / 2 }}"
    - floordiv: {{ 7 // 2 }}
    - pillar_list_q: "{{ d.zlist }}"
    - pillar_map_q: "{{ d.amap }}"
    - pillar_bool_q: "{{ d.flag }}"
    - pillar_none_q: "{{ d.nothing }}"
    - tuple_q: "{{ (1, 2) }}"
    - unicode_q: "{{ ['caf\u00e9'] }}"
    - quote_in_list: |
        {{ ["it's", 'say "hi"'] }}
    - percent_list: "{{ '%s' % ([1, 2],) }}"
    - percent_dict: "{{ '%s' % {'k': 'v'} }}"
    - percent_none: "{{ '%s' % none }}"
    - percent_bool: "{{ '%s' % true }}"
    - string_filter: "{{ [1, 'a'] | string }}"
    - join_mixed: "{{ [1, none, true] | join(',') }}"
