"""Azure: the pipeline to Resource Manager, the requests, web apps, metrics, sign-in."""
