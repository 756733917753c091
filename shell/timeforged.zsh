# TimeForged zsh hook (being written)
