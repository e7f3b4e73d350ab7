"""The XML -> REST migration: each Meetings XML request, translated into the REST request that replaces it.

One concern per module: `rest` (the shipped slice of Cisco's OpenAPI description, and body
validation against it), `timezones` (XML time-zone ids -> IANA), `convert` (value conversions),
`mapping` (rules/migration/rest-mapping.yaml, checked at load with file:line errors), `masking`
(credentials and personal data never printed as sent), `translate` (one request -> one REST
request and what would not survive), `auth` (the credential change each client needs).

Nothing here is imported on the lint path: only `webex-xml-lint migrate` loads it.
"""
