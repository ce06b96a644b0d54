"""Minor-planet names for customer codenames (seed 003: anonymous customers in public bug reports)."""

MINOR_PLANET_NAMES = (
    "Ceres Pallas Juno Vesta Astraea Hebe Iris Flora Metis Hygiea Parthenope Victoria Egeria Irene Eunomia "
    "Psyche Thetis Melpomene Fortuna Massalia Lutetia Kalliope Thalia Themis Phocaea Proserpina Euterpe "
    "Bellona Amphitrite Urania Euphrosyne Pomona Polyhymnia Circe Leukothea Atalante Fides Leda Laetitia "
    "Harmonia Daphne Isis Ariadne Nysa Eugenia Hestia Aglaja Doris Pales Virginia Nemausa Europa Kalypso "
    "Alexandra Pandora Melete Mnemosyne Concordia Elpis Echo Danae Erato Ausonia Angelina Cybele Maja Asia "
    "Leto Hesperia Panopaea Niobe Feronia Klytia Galatea Eurydike Freia Frigga Diana Eurynome Sappho "
    "Terpsichore Alkmene Beatrix Klio Io Semele Sylvia Thisbe Julia Antiope Aegina Undina Minerva Aurora "
    "Arethusa Aegle Klotho Ianthe Dike Hekate Helena Miriam Hera Klymene Artemis Dione Camilla Hertha "
    "Felicitas Lydia Ate Iphigenia Amalthea Kassandra Thyra Sirona Lomia Peitho Althaea Lachesis Hermione "
    "Gerda Brunhild Alkeste Liberatrix Velleda Johanna Nemesis Antigone Elektra Vala Aethra Cyrene "
    "Sophrosyne Hertha Eva Loreley Rhodope Urda Sibylla Zelinda Hecuba Xanthippe Dejopeja Ino Adeona "
    "Lumen Polana Adria Vibilia Adelheid Lucina Protogeneia Gallia Medusa Nuwa Abundantia Atala Siwa "
    "Lilaea Aria Phaedra Andromache Ilmatar Hippodamia Kolga Nausikaa Ambrosia Procne Eurykleia Philomela "
    "Arete Penelope Chryseis Pompeja Kallisto Martha Hersilia Hedda Lacrimosa Dido Isabella Isolda Medea "
    "Lamberta Meliboea Tolosa Juewa Siegena Aspasia Chloris Oenone Cleopatra Eudora Berenike Atropos "
    "Walpurga Silesia Tyche Aletheia Huberta Prymno Merxia Clementina Bianca Thusnelda Eos Adelinda "
    "Bettina Ekard Carolina Eukrate Tamara Adorea Valentine Stephania Gaea Eleonora Olga Vanadis "
    "Germania Kriemhild Ida Devosa Carina Sophia Eunike Adrastea Vindobona Russia Asporina Eunice "
    "Ilse Hildegard Palma Ottilia Oda Brixia Athor Tirza Aurelia Irma Nephthys Marion Bavaria Polyxo"
).split()

# Keep the list free of repeats so that "next free name" is well defined.
MINOR_PLANET_NAMES = tuple(dict.fromkeys(MINOR_PLANET_NAMES))
