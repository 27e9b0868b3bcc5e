"""The app's migration: one line per run, so the test can count runs."""
import os

os.makedirs("/srv/app/data", exist_ok=True)
with open("/srv/app/data/migrations.log", "a") as f:
    f.write("migrated\n")
