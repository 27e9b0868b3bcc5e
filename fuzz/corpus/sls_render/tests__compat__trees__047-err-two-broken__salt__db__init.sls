postgresql:
  pkg.installed:
    - version: 15
	- tab: indented
