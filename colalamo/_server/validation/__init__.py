"""Checks on request bodies, one module per API format (`chat`, `messages`, `responses`),
sharing `common`: a bad field is a 400 that names it (rendered in the route's own format)
before anything is sent upstream, where it would cost a request or come back vaguer.

Checks that depend on the model a request lands on (a field a translation cannot express)
belong to the translation (`colalamo._translate`), which alone knows the model's endpoint."""
