"""The Azure Pipelines templates' toolkit: expand them locally, check them, rehearse them.

expander.py  (with expressions.py, functions.py, parameters.py, yaml_text.py)  what the service
             does to YAML before a run: parameters, ${{ }}, each/if, template references
schema.py    the official YAML schema, extended with this extension's task from task.json
checks.py    what the service checks when a run starts: names, dependsOn, inputs, output references
runtime.py   $(macros), $[ ] expressions and step conditions during a run
rehearsal.py the one-app template played on the local App Service emulator
"""
