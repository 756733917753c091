# TimeForged fish hook (being written)
