# TimeForged bash hook (being written)
