"""`swap-slots init` and `swap-slots validate`: the Azure DevOps side, through the azure-devops
client.

auth.py          the credentials, found as `az devops` finds them
organization.py  the one talker to Azure DevOps: typed calls, the service's errors as ours
setup.py         init: checks first, then each idempotent step, and the table at the end
pipeline_yaml.py the pipeline YAML that init writes
classic.py       init --classic: the shipped task group, imported once
shipped.py       the files this project ships beside the program
steps.py         Step: what one step of init did (setup.py and classic.py write it)
validate.py      validate: the service's preview, or the local expander and checks offline
"""
