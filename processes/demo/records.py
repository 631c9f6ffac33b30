"""Demo business records: customers, delivered devices, maintenance contracts, a sales ledger.

Enough for every process to be tried by hand: devices in and out of warranty (1 year from the
invoice date, 三包一赔 [000 篇三]) for repairs, a contract ending within a month for the renewal
notice [000 篇二 18)], and a sales ledger [000 篇一 3] with cold-chain lines for returns and one
batch, ``RC-DEMO-2601``, sold to five customers for the recall demo [002 三].

Dates are relative to today (engine clock, company timezone) so the demo stays realistic.
Loading is idempotent: what exists (by customer name, serial number, contract number,
document and line) is left alone, so running it again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from processes.handlers.records import company_today
from processes.records.models import Customer, MaintenanceContract, Product, SalesLedgerEntry

RECALL_DEMO_BATCH = "RC-DEMO-2601"
DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    licence: str
    address: str
    contact: str
    phone: str
    region: str
    key_customer: bool = False
    #: 定点单位, visited every month [000 篇一 二.3].
    fixed_point_unit: bool = False


# 客户档案: hospitals, pharmacies and clinics at every distance band of the repair SLA.
CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "上海申江第一人民医院",
        "PDY00231310104A1001",
        "上海市徐汇区宜山路 600 号",
        "设备科 刘国强",
        "021-64369181",
        "urban",
        True,
    ),
    DemoCustomer(
        "浦东新区东明中心医院",
        "PDY00318310115A1002",
        "上海市浦东新区东明路 1188 号",
        "药剂科 陈慧",
        "021-58851234",
        "urban",
        True,
        fixed_point_unit=True,
    ),
    DemoCustomer(
        "闵行区华漕社区卫生服务中心",
        "PDY60521310112B2003",
        "上海市闵行区华漕镇纪翟路 235 号",
        "药房 周敏",
        "021-62210456",
        "suburban",
    ),
    DemoCustomer(
        "青浦区朱家角中医医院",
        "PDY40117310118A1004",
        "上海市青浦区朱家角镇祥凝浜路 88 号",
        "设备科 沈建华",
        "021-59231877",
        "suburban",
    ),
    DemoCustomer(
        "仁济堂大药房（静安店）",
        "沪AA0210376",
        "上海市静安区南京西路 1576 号",
        "店长 吴倩",
        "021-62478890",
        "urban",
    ),
    DemoCustomer(
        "益康大药房连锁（松江店）",
        "沪AA0260915",
        "上海市松江区中山中路 210 号",
        "质管员 钱文",
        "021-57812345",
        "suburban",
    ),
    DemoCustomer(
        "嘉定区安亭镇康宁诊所",
        "PDY70842310114C3007",
        "上海市嘉定区安亭镇墨玉南路 55 号",
        "孙医生",
        "13816725530",
        "suburban",
    ),
    DemoCustomer(
        "苏州工业园区星湖医院",
        "PDY00562320571A1008",
        "江苏省苏州市工业园区星湖街 1055 号",
        "设备处 顾明",
        "0512-62958800",
        "within_300km",
        True,
    ),
    DemoCustomer(
        "杭州西溪康复诊所",
        "PDY81230330106C3009",
        "浙江省杭州市西湖区文一西路 398 号",
        "林医生",
        "0571-88123456",
        "within_300km",
    ),
    DemoCustomer(
        "武汉光谷仁和门诊部",
        "PDY91012420111C3010",
        "湖北省武汉市洪山区关山大道 9 号",
        "门诊部 黄磊",
        "027-87654321",
        "within_1000km",
    ),
    DemoCustomer(
        "乌鲁木齐天山医院",
        "PDY00877650102A1011",
        "新疆维吾尔自治区乌鲁木齐市天山区解放南路 120 号",
        "设备科 艾力",
        "0991-2856677",
        "over_1000km",
    ),
    DemoCustomer(
        "林芝市巴宜区人民医院",
        "PDY00135540402A1012",
        "西藏自治区林芝市巴宜区广东路 6 号",
        "设备科 次仁",
        "0894-5821234",
        "remote",
    ),
)


@dataclass(frozen=True)
class DemoDevice:
    serial: str
    name: str
    model: str
    registration: str
    customer: int  # index into CUSTOMERS
    invoiced_days_ago: int


# 产品档案: delivered medical devices; invoices 1-2 years back are out of warranty.
DEVICES: tuple[DemoDevice, ...] = (
    DemoDevice("SN-PM9-2401001", "多参数监护仪", "PM-9000", "沪械注准20192070311", 0, 120),
    DemoDevice("SN-PM9-2401002", "多参数监护仪", "PM-9000", "沪械注准20192070311", 0, 120),
    DemoDevice("SN-VT6-2303011", "呼吸机", "VT-600", "国械注准20183080452", 0, 560),
    DemoDevice("SN-IP3-2405021", "输液泵", "IP-300", "沪械注准20172140876", 1, 45),
    DemoDevice("SN-IP3-2405022", "输液泵", "IP-300", "沪械注准20172140876", 1, 45),
    DemoDevice("SN-DU3-2310031", "便携式彩色多普勒超声诊断仪", "DU-3", "国械注准20193060129", 1, 420),
    DemoDevice("SN-SP5-2402041", "注射泵", "SP-500", "沪械注准20172140877", 2, 300),
    DemoDevice("SN-EC12-2306051", "十二导心电图机", "ECG-1200", "沪械注准20182070533", 3, 700),
    DemoDevice("SN-PM9-2404061", "多参数监护仪", "PM-9000", "沪械注准20192070311", 3, 200),
    DemoDevice("SN-BP2-2407071", "电子血压计", "BP-200", "沪械注准20172070999", 4, 90),
    DemoDevice("SN-OX1-2407081", "指夹式脉搏血氧仪", "OX-100", "沪械注准20182070688", 5, 30),
    DemoDevice("SN-NB1-2311091", "雾化器", "NB-100", "沪械注准20162080412", 6, 390),
    DemoDevice("SN-DF8-2402101", "除颤监护仪", "DF-800", "国械注准20183210267", 7, 250),
    DemoDevice("SN-VT6-2404111", "呼吸机", "VT-600", "国械注准20183080452", 7, 180),
    DemoDevice("SN-DU3-2209121", "便携式彩色多普勒超声诊断仪", "DU-3", "国械注准20193060129", 7, 800),
    DemoDevice("SN-IP3-2406131", "输液泵", "IP-300", "沪械注准20172140876", 8, 60),
    DemoDevice("SN-EC12-2403141", "十二导心电图机", "ECG-1200", "沪械注准20182070533", 9, 330),
    DemoDevice("SN-PM9-2303151", "多参数监护仪", "PM-9000", "沪械注准20192070311", 10, 600),
    DemoDevice("SN-VT6-2405161", "呼吸机", "VT-600", "国械注准20183080452", 10, 150),
    DemoDevice("SN-DU3-2406171", "便携式彩色多普勒超声诊断仪", "DU-3", "国械注准20193060129", 11, 75),
)


@dataclass(frozen=True)
class DemoContract:
    number: str
    customer: int
    serial: str | None  # None: covers every device of the customer
    started_days_ago: int
    ends_in_days: int


# 维保合同: one ends within 30 days, so the renewal notice has something to do.
CONTRACTS: tuple[DemoContract, ...] = (
    DemoContract("WB-DEMO-001", 0, None, 345, 20),
    DemoContract("WB-DEMO-002", 1, "SN-DU3-2310031", 60, 305),
    DemoContract("WB-DEMO-003", 7, "SN-DU3-2209121", 30, 335),
    DemoContract("WB-DEMO-004", 3, None, 200, 165),
)


@dataclass(frozen=True)
class DemoGoods:
    name: str
    specification: str
    registration: str
    manufacturer: str
    unit: str
    price: str
    cold_chain: bool
    shelf_life_days: int


# Medicines and consumables of the sales ledger.
GOODS: tuple[DemoGoods, ...] = (
    DemoGoods(
        "重组人胰岛素注射液",
        "3ml:300IU",
        "国药准字S20193012",
        "通化东宝药业股份有限公司",
        "支",
        "58.50",
        True,
        730,
    ),
    DemoGoods(
        "人血白蛋白",
        "10g(20%,50ml)",
        "国药准字S20123045",
        "华兰生物工程股份有限公司",
        "瓶",
        "398.00",
        True,
        1095,
    ),
    DemoGoods(
        "注射用头孢曲松钠", "1.0g", "国药准字H20033245", "上海新亚药业有限公司", "瓶", "6.80", False, 730
    ),
    DemoGoods(
        "阿莫西林胶囊", "0.25g×24粒", "国药准字H31020570", "上海信谊药厂有限公司", "盒", "12.60", False, 1095
    ),
    DemoGoods(
        "0.9%氯化钠注射液",
        "250ml:2.25g",
        "国药准字H31021983",
        "上海长征富民金山制药有限公司",
        "袋",
        "3.20",
        False,
        730,
    ),
    DemoGoods(
        "一次性使用无菌注射器 带针",
        "5ml",
        "沪械注准20152150311",
        "上海康德莱企业发展集团股份有限公司",
        "支",
        "0.45",
        False,
        1825,
    ),
    DemoGoods(
        "一次性使用输液器 带针",
        "0.7mm",
        "沪械注准20162140457",
        "上海康德莱企业发展集团股份有限公司",
        "套",
        "1.35",
        False,
        1825,
    ),
    DemoGoods(
        "医用外科口罩",
        "17.5cm×9.5cm",
        "沪械注准20202140076",
        "上海振德医疗用品有限公司",
        "只",
        "0.60",
        False,
        730,
    ),
)

# (goods index, batch, produced days ago) — the batches on the shelves.
BATCHES: tuple[tuple[int, str, int], ...] = (
    (0, RECALL_DEMO_BATCH, 70),
    (0, "INS-2510-07", 180),
    (1, "HSA-2509-12", 200),
    (2, "CTX-2508-03", 220),
    (3, "AMX-2507-21", 240),
    (4, "NS-2510-15", 160),
    (5, "SY5-2506-02", 260),
    (6, "SY7-2505-11", 280),
    (7, "KZ-2509-30", 170),
)


def _ledger_plan() -> list[tuple[str, int, int, int, int, int]]:
    """(document, line, batch index, customer index, quantity, sold days ago) of every ledger line."""
    plan: list[tuple[str, int, int, int, int, int]] = []
    # The recall batch went to five customers, some of them twice.
    recall = ((0, 40, 60), (1, 60, 58), (4, 20, 55), (5, 30, 50), (7, 50, 45), (0, 20, 30), (4, 10, 21))
    for number, (customer, quantity, days_ago) in enumerate(recall, start=1):
        plan.append((f"XS-DEMO-R{number:03d}", 1, 0, customer, quantity, days_ago))
    # Everyday sales: twelve documents of four or five lines, cycling goods and customers.
    for document in range(1, 13):
        customer = (document * 5) % len(CUSTOMERS)
        lines = 5 if document % 3 == 0 else 4
        for line in range(1, lines + 1):
            batch = 1 + (document + line * 3) % (len(BATCHES) - 1)
            quantity = (10, 20, 50, 100, 200, 500)[(document + line) % 6]
            if GOODS[BATCHES[batch][0]].cold_chain:
                quantity = (5, 10, 20)[(document + line) % 3]
            days_ago = 5 + document * 11 + line
            plan.append((f"XS-DEMO-{document:04d}", line, batch, customer, quantity, days_ago))
    return plan


@dataclass(frozen=True)
class DemoRecords:
    """How many records a load added (all zero when the demo records were there already)."""

    customers: int
    products: int
    contracts: int
    ledger_lines: int


def _add_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def load_demo_records(session: Session, today: date | None = None) -> DemoRecords:
    """Add the demo customers, products, contracts and ledger lines that are missing; flush."""
    today = today or company_today()
    now = clock.now()
    customers = {c.name: c for c in session.scalars(select(Customer))}
    added_customers = 0
    for demo in CUSTOMERS:
        if demo.name in customers:
            continue
        row = Customer(
            name=demo.name,
            licence_number=demo.licence,
            address=demo.address,
            contact=demo.contact,
            phone=demo.phone,
            region=demo.region,
            key_customer=demo.key_customer,
            fixed_point_unit=demo.fixed_point_unit,
            created_at=now,
        )
        session.add(row)
        customers[demo.name] = row
        added_customers += 1
    session.flush()

    products = {
        p.serial_number: p for p in session.scalars(select(Product).where(Product.serial_number.is_not(None)))
    }
    added_products = 0
    for device in DEVICES:
        if device.serial in products:
            continue
        invoiced = today - timedelta(days=device.invoiced_days_ago)
        product = Product(
            customer_id=customers[CUSTOMERS[device.customer].name].id,
            model=device.model,
            name=device.name,
            serial_number=device.serial,
            registration_number=device.registration,
            sale_date=invoiced - timedelta(days=3),
            invoice_date=invoiced,
            warranty_end=_add_year(invoiced),
        )
        session.add(product)
        products[device.serial] = product
        added_products += 1
    session.flush()

    numbers = set(session.scalars(select(MaintenanceContract.number)))
    added_contracts = 0
    for contract in CONTRACTS:
        if contract.number in numbers:
            continue
        session.add(
            MaintenanceContract(
                number=contract.number,
                customer_id=customers[CUSTOMERS[contract.customer].name].id,
                product_id=products[contract.serial].id if contract.serial else None,
                starts_on=today - timedelta(days=contract.started_days_ago),
                ends_on=today + timedelta(days=contract.ends_in_days),
            )
        )
        added_contracts += 1

    plan = _ledger_plan()
    existing = set(
        session.execute(
            select(SalesLedgerEntry.document_number, SalesLedgerEntry.line_number).where(
                SalesLedgerEntry.document_number.in_(sorted({p[0] for p in plan}))
            )
        ).all()
    )
    added_lines = 0
    for document, line, batch_index, customer_index, quantity, days_ago in plan:
        if (document, line) in existing:
            continue
        goods_index, batch, produced_days_ago = BATCHES[batch_index]
        goods = GOODS[goods_index]
        customer = CUSTOMERS[customer_index]
        price = Decimal(goods.price)
        produced = today - timedelta(days=produced_days_ago)
        session.add(
            SalesLedgerEntry(
                document_number=document,
                line_number=line,
                product_name=goods.name,
                specification=goods.specification,
                registration_number=goods.registration,
                manufacturer=goods.manufacturer,
                batch_number=batch,
                expiry_date=produced + timedelta(days=goods.shelf_life_days),
                quantity=quantity,
                unit=goods.unit,
                unit_price=price,
                amount=(price * quantity).quantize(Decimal("0.01"), ROUND_HALF_UP),
                sale_date=today - timedelta(days=days_ago),
                purchaser_name=customer.name,
                purchaser_licence=customer.licence,
                purchaser_address=customer.address,
                purchaser_contact=f"{customer.contact} {customer.phone}",
                cold_chain=goods.cold_chain,
                imported_at=now,
                source_file=DEMO_SOURCE,
            )
        )
        added_lines += 1
    session.flush()
    return DemoRecords(added_customers, added_products, added_contracts, added_lines)
