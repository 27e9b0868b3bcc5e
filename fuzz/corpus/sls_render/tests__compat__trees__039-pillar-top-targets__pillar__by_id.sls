matched_pcre: {{ grains['id'].split('.')[-1] }}
