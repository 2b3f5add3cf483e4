"""The articles behind benchmarks/cleaning/raw: facts and paragraphs ("## " starts a subheading).

Written for this benchmark (invented events, real-looking layouts); make_fixtures.py lays each out as a web page,
scraped text, PDF or Word file and writes the hand-cleaned Markdown beside it in expected/.
"""

ARTICLES = {
    "en_news": {
        "title": "Harbour town votes to rebuild its flooded sea wall",
        "author": "Margaret Ellison",
        "date": "2021-03-04",
        "publisher": "Coastal Herald",
        "paragraphs": [
            "Councillors in Port Aldwick voted on Tuesday to rebuild the sea wall that failed during the January storms, after a meeting that lasted almost five hours.",
            "The new wall will be two metres higher than the old one and will cost an estimated 14 million pounds, most of it paid by a national flood defence fund.",
            'Council leader Tom Barraclough said the decision was the most important the town had taken in a generation. "We cannot ask families to live behind a wall we know will fail again," he said.',
            "## Residents divided over the cost",
            "Not everyone at the meeting agreed. A group of shop owners on Quay Street argued that the town's share of the cost, about 2.3 million pounds, should be spent on repairing homes first.",
            "Local engineer Priya Raman, who surveyed the old wall after the storms, told councillors that its foundations had been weakened by decades of erosion and could not be repaired.",
            "Work is expected to begin in September and to take two years. During construction the harbour car park will close and the weekly fish market will move to the old railway yard.",
        ],
    },
    "da_kommune": {
        "title": "Ny cykelsti skal forbinde Egebjerg med stationen",
        "author": "Lise Kragh",
        "date": "2022-05-17",
        "publisher": "Egebjerg Kommune",
        "paragraphs": [
            "Byrådet i Egebjerg Kommune har besluttet at anlægge en 4,2 kilometer lang cykelsti mellem landsbyen Egebjerg og Nørre Vedby Station.",
            "Cykelstien skal gøre det lettere for pendlere og skoleelever at komme sikkert frem, og den forventes at koste 11 millioner kroner.",
            "- Vi har i mange år hørt fra forældre, som ikke tør lade deres børn cykle langs landevejen. Nu gør vi noget ved det, siger formand for teknik- og miljøudvalget, Anders Holm.",
            "## Anlæg begynder til efteråret",
            "Kommunen regner med at gå i gang med arbejdet i oktober, når høsten er overstået på de marker, som stien skal krydse.",
            "Vejdirektoratet har givet tilskud på 40 procent af udgiften fra den statslige cykelpulje, og resten betales over kommunens anlægsbudget for 2022 og 2023.",
            "Den nye sti får belysning på hele strækningen og en sikker krydsning ved Vedbyvej, hvor der i dag kører omkring 3.000 biler i døgnet.",
        ],
    },
    "de_blog": {
        "title": "Warum unsere Stadtbibliothek jetzt sonntags öffnet",
        "author": "Katrin Vogel",
        "date": "2023-01-22",
        "publisher": "Stadtleben Blog",
        "paragraphs": [
            "Seit diesem Monat hat die Stadtbibliothek in Lindenau auch am Sonntag von 11 bis 17 Uhr geöffnet. Wir haben mit der Leiterin Sabine Krämer darüber gesprochen, wie es dazu kam.",
            "Die Idee entstand in einer Bürgerbefragung im vergangenen Frühjahr, an der sich mehr als 1.800 Menschen beteiligten. Fast zwei Drittel wünschten sich längere Öffnungszeiten am Wochenende.",
            "„Viele Familien haben unter der Woche schlicht keine Zeit, in die Bibliothek zu kommen“, sagt Krämer. „Am Sonntag können Eltern und Kinder gemeinsam stöbern.“",
            "## Personal aus einem Landesprogramm",
            "Bezahlt wird die Sonntagsöffnung aus einem Förderprogramm des Landes, das offene Bibliotheken als dritte Orte neben Arbeit und Zuhause stärken soll.",
            "Am Sonntag ist nur eine Fachkraft vor Ort. Ausleihe und Rückgabe laufen über die Selbstverbuchungsautomaten, die im Herbst angeschafft wurden.",
        ],
    },
    "sv_press": {
        "title": "Kommunen öppnar ett nytt simhall i Älvby",
        "author": "Johan Lindqvist",
        "date": "2021-03-03",
        "publisher": "Älvby kommun",
        "paragraphs": [
            "Den nya simhallen i Älvby öppnar för allmänheten den 15 mars efter två års byggtid. Hallen har en 25-metersbassäng, en undervisningsbassäng och en bastu.",
            "Bygget har kostat 96 miljoner kronor, vilket är sju miljoner mer än vad kommunfullmäktige beslutade 2018. Fördyringen beror främst på högre priser på stål och ventilation.",
            "– Vi har saknat en simhall i kommunen i över tio år. Nu kan alla barn lära sig simma här hemma, säger kommunstyrelsens ordförande Eva Bergström.",
            "## Skolorna får förtur på förmiddagarna",
            "Under vardagar mellan klockan åtta och tolv är bassängerna bokade för skolornas simundervisning. Övrig tid är hallen öppen för alla.",
            "Ett vuxenkort kostar 60 kronor och barn under sju år badar gratis i sällskap med en vuxen.",
        ],
    },
    "nb_kultur": {
        "title": "Festivalen som flyttet inn i en gammel sildefabrikk",
        "author": "Ingrid Solberg",
        "date": "2022-08-11",
        "publisher": "Nordkyst Avis",
        "paragraphs": [
            "Når Havblikk-festivalen åpner på fredag, skjer det for første gang i den gamle sildefabrikken på Nesodden brygge, som har stått tom siden 1987.",
            "Festivalsjef Marte Nilsen forteller at flyttingen var nødvendig etter at det gamle festivalområdet ble solgt til boligbygging i fjor.",
            "– Fabrikken har en akustikk som ingen konsertsal kan måle seg med. Det gir en helt spesiell stemning når publikum sitter mellom de gamle sildetønnene, sier Nilsen.",
            "## Frivillige har pusset opp",
            "Over 120 frivillige har brukt vinteren og våren på å rydde, male og sikre bygningen. Kommunen har bidratt med 1,5 millioner kroner til nytt elektrisk anlegg og rømningsveier.",
            "Årets program har 34 konserter over tre dager, og rundt 4.000 billetter er allerede solgt.",
        ],
    },
    "en_magazine": {
        "title": "The quiet return of the village bakery",
        "author": "Daniel Okafor",
        "date": "2020-11-19",
        "publisher": "Countryside Quarterly",
        "paragraphs": [
            "Ten years ago Hollowmere had no shop, no pub and no bakery. Today the smell of bread drifts across the green every morning from a converted forge on Mill Lane.",
            "The bakery was opened in 2017 by Sarah and Ben Whitlock, who left jobs in London to train as bakers. They now employ six people and sell around 400 loaves a day.",
            '"People told us a village of 900 could not keep a bakery going," Sarah Whitlock said. "What they forgot is that everyone eats bread, and nobody likes driving twenty minutes to buy it."',
            "## A national trend",
            "Hollowmere is not alone. The Village Retail Association counted 212 new independent bakeries in villages of under 2,000 people between 2015 and 2020, most of them run by first-time business owners.",
            "Its director, Helen Marsh, says cheaper ovens and social media have made small bakeries viable again, but warns that rising energy prices could close many of them within a year.",
        ],
    },
    "en_scraped": {
        "title": "Library cards for every newborn in Westbury",
        "author": "Rachel Moore",
        "date": "2021-06-09",
        "publisher": "westburynews.co.uk",
        "paragraphs": [
            "Every baby born in Westbury will receive their own library card and a bag of picture books, under a scheme launched by the town council this week.",
            "The Books from Birth scheme is paid for by a 35,000 pound grant from a local charity and will run for at least three years.",
            'Head librarian Colin Firth said families who join the library in a child\'s first year tend to keep coming back. "A card in the cot is an invitation that lasts a lifetime," he said.',
            "Health visitors will hand out the bags during their first home visit, and parents can collect more books at any of the town's four libraries.",
        ],
    },
    "da_scraped2": {
        "title": "Sygeplejersker får ny vagtplan på Midtby Sygehus",
        "author": "Mette Dahl",
        "date": "2021-03-12",
        "publisher": "Sundhedsnyt",
        "paragraphs": [
            "Fra 1. april får sygeplejerskerne på Midtby Sygehus en ny vagtplan, hvor de selv kan vælge en del af deres vagter i en app.",
            "Forsøget er aftalt mellem hospitalsledelsen og Dansk Sygeplejeråd og skal løbe i et år på fire afdelinger.",
            "- Vi ved, at manglende indflydelse på vagterne er en af de største grunde til, at sygeplejersker siger op. Derfor prøver vi noget nyt, siger hospitalsdirektør Jens Aagaard.",
            "Fællestillidsrepræsentant Karin Bech kalder forsøget et skridt i den rigtige retning, men understreger, at der stadig mangler over 40 sygeplejersker på hospitalet.",
            "Erfaringerne skal evalueres af VIVE, inden regionen beslutter, om ordningen skal gælde alle regionens hospitaler.",
        ],
    },
    "de_scraped": {
        "title": "Bürgerbus verbindet fünf Dörfer mit der Kreisstadt",
        "author": "Max Hartmann",
        "date": "2022-05-05",
        "publisher": "Kreisbote",
        "paragraphs": [
            "Seit Montag fährt im Landkreis ein Bürgerbus, der fünf Dörfer ohne regelmäßige Busverbindung mit der Kreisstadt Altheim verbindet.",
            "Der Kleinbus mit acht Sitzplätzen wird von 22 ehrenamtlichen Fahrerinnen und Fahrern gesteuert und fährt werktags sechsmal am Tag.",
            "„Viele ältere Menschen konnten ohne Auto nicht mehr zum Arzt oder zum Einkaufen fahren“, sagt Vereinsvorsitzender Peter Lang.",
            "Eine Fahrt kostet zwei Euro. Der Landkreis übernimmt die Kosten für das Fahrzeug und die Versicherung für die ersten drei Jahre.",
        ],
    },
    "da_rapport": {
        "title": "Evaluering af frivilligcentre i Nordvest",
        "author": "Camilla Rask",
        "date": "2023-02-01",
        "publisher": "Center for Frivilligt Arbejde",
        "pages": [
            [
                "Denne rapport evaluerer de tre frivilligcentre i Nordvest, som blev oprettet i 2019 med støtte fra Socialstyrelsen.",
                "Evalueringen bygger på interviews med 46 frivillige og 12 ansatte samt centrenes egne registreringer af aktiviteter.",
            ],
            [
                "Centrene har i perioden formidlet 1.240 frivillige til 85 foreninger. Flest frivillige er formidlet til lektiehjælp og besøgstjenester.",
                "De frivillige peger på, at en fast kontaktperson i centret er afgørende for, at de bliver ved.",
            ],
            [
                "Evalueringen anbefaler, at centrene får en fast bevilling i stedet for projektmidler, så de ansatte ikke skal bruge en fjerdedel af deres tid på fundraising.",
                "Desuden anbefales det, at centrene samarbejder om én fælles hjemmeside for frivilligjob i hele regionen.",
            ],
        ],
    },
    "en_memo": {
        "title": "Changes to the staff travel policy",
        "author": "Olivia Grant",
        "date": "2022-09-27",
        "publisher": None,
        "paragraphs": [
            "From 1 November all staff travel within the country must be booked through the new travel portal, which replaces the old paper forms.",
            "Train travel is now the default for any journey under five hours. Flights on such routes need written approval from a department head.",
            "## Expenses",
            "Meal allowances rise to 30 pounds a day for overnight trips. Receipts must be uploaded to the portal within 14 days of returning.",
            "Questions about the new policy can be sent to the finance team, who will hold two open information sessions in October.",
        ],
    },
}
