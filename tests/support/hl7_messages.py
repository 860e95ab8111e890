"""HL7 v2 messages shaped like those interface engines send (synthetic people only):
several versions, Z-segments, repeating fields, escape sequences."""


def seg(name: str, fields: dict[int, str]) -> str:
    """A segment with `fields` at their standard positions (counting pipes by hand is how
    test messages go wrong)."""
    f = [""] * (max(fields) + 1)
    for n, v in fields.items():
        f[n] = v
    return name + "|" + "|".join(f[1:]) + "\r"


def pv1(
    cls: str,
    bed: str,
    *,
    prior: str = "",
    attending: str = "",
    service: str = "",
    visit: str = "V000123^^^SGH^VN",
    admitted: str = "",
) -> str:
    """A PV1 with its fields at their standard positions (3 bed, 6 prior bed, 7 attending,
    10 service, 19 visit number, 44 admitted)."""
    f = [""] * 45
    f[1], f[2], f[3], f[6], f[7], f[10], f[19], f[44] = (
        "1",
        cls,
        bed,
        prior,
        attending,
        service,
        visit,
        admitted,
    )
    return "PV1|" + "|".join(f[1:]).rstrip("|") + "\r"


ADT_A01 = (
    "MSH|^~\\&|EPICADT|SGH|STANDBY|SGH|20261130081500-0500||ADT^A01^ADT_A01|ADT0001|P|2.5.1|||AL|NE\r"
    "EVN|A01|20261130081500-0500|||JDOE^Doe^Jane|20261130081000-0500\r"
    "PID|1||10000007^^^SGH^MR~999-12-3456^^^SSA^SS||O\\S\\BRIEN^MARY^ANN^JR^MS^^L~SMITH^MARY^^^^^M"
    "||19580214|F|||12 ELM ST^APT 4^SPRINGFIELD^IL^62701^US^H||^PRN^PH^^1^217^5550101~"
    "^PRN^CP^^1^217^5550199|^WPN^PH^^1^217^5550300|ENG^English^HL70296|M^Married^HL70002\r"
    "PD1|||SGH\r"
    "NK1|1|O'BRIEN^JOHN|SPO^Spouse^HL70063\r"
    + pv1(
        "I",
        "3W^301^A^SGH",
        attending="1234567890^WELBY^MARCUS^^^DR^^^NPI^^^^NPI",
        service="MED^Medicine^HL70069",
        admitted="20261130080000-0500",
    )
    + "PV2|||R07.9^Chest pain, unspecified^I10C\r"
    "AL1|1|DA|70618^Penicillin^RXNORM|SV|HIVES~ANAPHYLAXIS|20100101\r"
    "AL1|2|FA|256349002^Peanut^SCT|MO|RASH\r"
    "ZPV|1|FALL RISK^HIGH\r"
)

ADT_A02 = (
    "MSH|^~\\&|EPICADT|SGH|STANDBY|SGH|20261130120000-0500||ADT^A02^ADT_A02|ADT0002|P|2.5.1\r"
    "EVN|A02|20261130120000-0500||||20261130115500-0500\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY^ANN||19580214|F\r"
    + pv1(
        "I",
        "ICU^201^A^SGH",
        prior="3W^301^A^SGH",
        attending="1234567890^WELBY^MARCUS^^^DR",
        service="MED",
        admitted="20261130080000-0500",
    )
)

ADT_A03 = (
    ADT_A02.replace("A02^ADT_A02|ADT0002", "A03^ADT_A03|ADT0003")
    .replace("EVN|A02", "EVN|A03")
    .replace("20261130080000-0500\r", "20261130080000-0500|20261201100000-0500\r")
)

# v2.3, an outpatient registration: no identifier type in PID-3, LF-separated as in archives
ADT_A04_V23 = (
    "MSH|^~\\&|REG|SGH|STANDBY|SGH|200311301015||ADT^A04|REG555|P|2.3\n"
    "EVN|A04|200311301015\n"
    "PID|||20000001||NGUYEN^AN||19900101|M|||1 MAIN ST^^URBANA^IL^61801||(217)555-0111\n"
    "PV1||O|CL1^^^SGH||||||||||||||||V9000^^^SGH|||||||||||||||||||||||||200311301000\n"
)

ADT_A08_V28 = (
    "MSH|^~\\&|EPICADT|SGH|STANDBY|SGH|20261130130000-0500||ADT^A08^ADT_A01|ADT0004|P|2.8\r"
    "EVN||20261130130000-0500\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY^ANN||19580214|F^Female^HL70001|||"
    "99 OAK AVE^^SPRINGFIELD^IL^62702^US^H||^PRN^PH^^1^217^5550102^^^^^2175550102\r"
    "PV1|1|I|3W^302^B^SGH||||||||||||||||V000123^^^SGH^VN\r"
)

ADT_A11 = ADT_A01.replace("A01^ADT_A01|ADT0001", "A11^ADT_A09|ADT0011").replace(
    "EVN|A01", "EVN|A11"
)
ADT_A12 = ADT_A02.replace("A02^ADT_A02|ADT0002", "A12^ADT_A12|ADT0012")
ADT_A13 = ADT_A01.replace("A01^ADT_A01|ADT0001", "A13^ADT_A01|ADT0013")

ADT_A40 = (
    "MSH|^~\\&|EPICADT|SGH|STANDBY|SGH|20261130140000-0500||ADT^A40^ADT_A39|ADT0040|P|2.5\r"
    "EVN|A40|20261130140000-0500\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY^ANN||19580214|F\r"
    "MRG|10009999^^^SGH^MR\r"
)

ORU_R01 = (
    "MSH|^~\\&|LAB|SGH|STANDBY|SGH|20261130091500-0500||ORU^R01^ORU_R01|LAB00001|P|2.5.1\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY\r"
    "PV1|1|I|3W^301^A||||||||||||||||V000123^^^SGH^VN\r"
    "ORC|RE|ORD777^EPIC|F-5555^LAB\r"
    "OBR|1|ORD777^EPIC|F-5555^LAB|80048^Basic metabolic panel^CPT|||20261130083000-0500"
    "|||||||||||||||20261130091400-0500||CH|F\r"
    "NTE|1||Specimen slightly hemolyzed\r"
    "OBX|1|NM|2823-3^Potassium^LN||6.2|mmol/L^mmol/L^UCUM|3.5-5.1|HH|||F|||20261130083000-0500\r"
    "NTE|1||Critical value called to RN Smith \\T\\ read back\r"
    "OBX|2|NM|2951-2^Sodium^LN||139|mmol/L|136-145|N|||F\r"
    "OBX|3|SN|2160-0^Creatinine^LN||<^0.3|mg/dL|0.6-1.2|L|||F\r"
    "OBX|4|ST|8251-1^Comment^LN||Repeat in AM~Fasting|||||F\r"
    "OBX|5|CWE|5778-6^Color of Urine^LN||YEL^Yellow^L|||A|||F\r"
    "OBX|6|NM|33914-3^eGFR^LN||58|mL/min/1.73m2|>=60|L|||C\r"
    "ZLB|internal lab routing|X\r"
)

ORU_R01_V23 = (
    "MSH|^~\\&|LAB|SGH|STANDBY|SGH|200311301015||ORU^R01|LAB23|P|2.3\r"
    "PID|||10000007||OBRIEN^MARY\r"
    "OBR|1||F-9000|CBC^Complete blood count^L|||200311300900||||||||||||||||||F\r"
    "OBX|1|NM|718-7^Hemoglobin^LN||9.1|g/dL|12.0-16.0|L|||F\r"
    "OBX|2|NM|718-7^Hemoglobin^LN||9.3|g/dL|12.0-16.0|L|||F\r"
    "OBX|3|FT|COMMENT^Comment||Line one\\.br\\Line two|||||F\r"
)

RDE_O11 = (
    "MSH|^~\\&|PHARM|SGH|STANDBY|SGH|20261130100000-0500||RDE^O11^RDE_O11|RX0001|P|2.5.1\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY\r"
    "PV1|1|I|3W^301^A||||||||||||||||V000123^^^SGH^VN\r"
    "ORC|NW|RX-7001^EPIC|PH-7001^PHARM||||||20261130095500-0500|||1234567890^WELBY^MARCUS^^^DR\r"
    "RXE||1049221^Heparin 5000 unit/mL injection^RXNORM|5000||[iU]^units^UCUM|||||||||||||||||"
    "||||||\r"
    + seg("TQ1", {1: "1", 3: "Q8H", 7: "20261130100000-0500", 9: "R"})
    + "RXR|SC^Subcutaneous^HL70162\r"
    "ZRX|formulary|Y\r"
)

RDE_O01_V24 = (
    "MSH|^~\\&|PHARM|SGH|STANDBY|SGH|20031130100000||RDE^O01|RX24|P|2.4\r"
    "PID|||10000007^^^SGH^MR||OBRIEN^MARY\r"
    "ORC|NW|RX-24|||||^BID^^20031130100000\r"
    "RXE|^BID^^20031130100000|197361^Amlodipine 5 MG Oral Tablet^RXNORM|5||mg^mg^UCUM\r"
    "RXR|PO^Oral^HL70162\r"
)

RAS_O17 = (
    "MSH|^~\\&|MAR|SGH|STANDBY|SGH|20261130140200-0500||RAS^O17^RAS_O17|MAR0001|P|2.5.1\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY\r"
    "ORC|RE|RX-7001^EPIC|PH-7001^PHARM\r"
    + seg(
        "RXA",
        {
            1: "0",
            2: "1",
            3: "20261130140000-0500",
            4: "20261130140000-0500",
            5: "1049221^Heparin 5000 unit/mL injection^RXNORM",
            6: "5000",
            7: "[iU]^units^UCUM",
            10: "RN001^NURSE^NINA",
            20: "CP",
        },
    )
    + "RXR|SC^Subcutaneous^HL70162\r"
    + seg(
        "RXA",
        {
            1: "0",
            2: "2",
            3: "20261130220000-0500",
            5: "1049221^Heparin^RXNORM",
            6: "0",
            7: "[iU]^units^UCUM",
            18: "PATREF^Patient refused^L",
            20: "RE",
        },
    )
)

SIU_S12 = (
    "MSH|^~\\&|SCHED|SGH|STANDBY|SGH|20261130090000-0500||SIU^S12^SIU_S12|SCH0001|P|2.5.1\r"
    + seg(
        "SCH",
        {
            1: "APT-100^EPIC",
            2: "FA-100^SCHED",
            7: "FOLLOWUP^Follow-up visit^L",
            8: "ROUTINE^Routine^HL70277",
            25: "Booked",
        },
    )
    + "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY\r"
    "RGS|1\r"
    "AIS|1||CARDIO^Cardiology follow-up^L|20261205093000-0500|||30|MIN\r"
    "AIL|1||CL1^^^SGH\r"
    "AIP|1||1234567890^WELBY^MARCUS^^^DR\r"
)

SIU_S15 = SIU_S12.replace("S12^SIU_S12|SCH0001", "S15^SIU_S12|SCH0002").replace(
    "|Booked", "|Cancelled"
)

SIU_S14_V23 = (
    "MSH|^~\\&|SCHED|SGH|STANDBY|SGH|200311300900||SIU^S14|SCH23|P|2.3\r"
    "SCH|APT-23||||||CHECK^Checkup||30|MIN|^^^200312050930^200312051000\r"
    "PID|||10000007^^^SGH^MR||OBRIEN^MARY\r"
)

MDM_T02 = (
    "MSH|^~\\&|TRANS|SGH|STANDBY|SGH|20261130160000-0500||MDM^T02^MDM_T02|DOC0001|P|2.6\r"
    "EVN|T02|20261130160000-0500\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY\r"
    "PV1|1|I|3W^301^A||||||||||||||||V000123^^^SGH^VN\r"
    "TXA|1|DS^Discharge summary^HL70270|TX|20261130155000-0500|1234567890^WELBY^MARCUS^^^DR"
    "||20261130155500-0500|||||DOC-42^TRANS|||||AU||AV\r"
    "OBX|1|TX|DS^Discharge summary||Patient admitted with chest pain.~Troponin negative \\T\\ "
    "stable.|||||F\r"
    "OBX|2|TX|DS^Discharge summary||Follow up in 1 week.|||||F\r"
)

UNKNOWN_TYPE = (
    "MSH|^~\\&|BILL|SGH|STANDBY|SGH|20261130090000-0500||DFT^P03^DFT_P03|BILL0001|P|2.5.1\r"
    "EVN|P03|20261130090000-0500\r"
    "PID|1||10000007^^^SGH^MR||O\\S\\BRIEN^MARY\r"
)
