tier: base
