"""The namespaces of the Webex XML API and the prefixes real clients use for them."""

SERVICE_NS = "http://www.webex.com/schemas/2002/06/service"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
COMMON_NS = "http://www.webex.com/schemas/2002/06/common"
UNBOUND_NS_PREFIX = "urn:webex-xml-lint:unbound:"

# Prefixes seen in real traffic and the namespace the service binds them to. A message that uses
# one without declaring it is parsed as if it had declared it (WX002).
WELL_KNOWN_PREFIXES = {
    "serv": SERVICE_NS,
    "xsi": XSI_NS,
    "com": COMMON_NS,
    "use": f"{SERVICE_NS}/user",
    "meet": f"{SERVICE_NS}/meeting",
    "att": f"{SERVICE_NS}/attendee",
    "ep": f"{SERVICE_NS}/ep",
    "event": f"{SERVICE_NS}/event",
    "train": f"{SERVICE_NS}/trainingsession",
    "sess": f"{SERVICE_NS}/session",
    "site": f"{SERVICE_NS}/site",
    "ns1": f"{SERVICE_NS}/site",
    "history": f"{SERVICE_NS}/history",
    "mtgtype": f"{SERVICE_NS}/meetingtype",
    "sc": f"{SERVICE_NS}/supportcenter",
    "tel": f"{SERVICE_NS}/telephony",
    "java": "urn:webex-xml-lint:java",
}
