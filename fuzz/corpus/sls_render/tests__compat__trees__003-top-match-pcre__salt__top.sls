# match: pcre is anchored at the start of the id only (re.match): 'eb\d+'
# does not match web12, but 'web1' does (no anchor at the end).
base:
  'web\d+':
    - match: pcre
    - web
  'web[0-9]$':
    - match: pcre
    - one-digit
  'web1':
    - match: pcre
    - prefix
  '(db|cache)\d+':
    - match: pcre
    - db
  'eb\d+':
    - match: pcre
    - unanchored
  '.*':
    - match: pcre
    - everything
