# Block and folded scalars with each chomping indicator, quoted strings with
# escapes, and a multi-line plain scalar.
/etc/motd:
  file.managed:
    - contents: |
        Welcome to {{ grains['os'] }}
          indented line

        after blank
    - literal_strip: |-
        one
        two
    - literal_keep: |+
        kept

    - folded: >
        folded
        into one line

        new paragraph
    - folded_strip: >-
        a
        b
    - double: "tab\there\nnewline \u00e9 \x41"
    - single: 'it''s'
    - plain: this is
        a plain scalar
        over lines
    - indent_indicator: |2
          two extra spaces
