//! Styles of the dashboard, with and without colour. Without colour (`NO_COLOR`) only modifiers
//! (bold, reverse, dim) are used, and everything colour would say is also said with characters.

use ratatui::style::{Color, Modifier, Style};

/// How the dashboard is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub color: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { color: true }
    }
}

impl Options {
    /// Colour unless `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub fn from_env() -> Options {
        Options {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// Distinct, readable on dark and light backgrounds; projects beyond these repeat colours but keep
/// their own letter in the timeline legend.
const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::Blue,
    Color::Red,
    Color::LightCyan,
    Color::LightMagenta,
];

/// Heat-map levels 1–4 (0 = nothing).
const HEAT: [Color; 4] = [
    Color::Rgb(14, 68, 41),
    Color::Rgb(0, 109, 50),
    Color::Rgb(38, 166, 65),
    Color::Rgb(57, 211, 83),
];

/// The styles in use, built from [`Options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn new(options: Options) -> Theme {
        Theme {
            color: options.color,
        }
    }

    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    pub fn base(&self) -> Style {
        Style::default()
    }

    pub fn title(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn tab_selected(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn dim(&self) -> Style {
        self.pick(
            Style::default().fg(Color::DarkGray),
            Style::default().add_modifier(Modifier::DIM),
        )
    }

    pub fn strong(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn border(&self) -> Style {
        self.pick(Style::default().fg(Color::DarkGray), Style::default())
    }

    pub fn border_focused(&self) -> Style {
        self.pick(
            Style::default().fg(Color::Cyan),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn selected(&self) -> Style {
        self.pick(
            Style::default()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::REVERSED),
        )
    }

    pub fn live(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn warn(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    /// The "daemon unreachable" status line: loud in both modes.
    pub fn error_line(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn key(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    /// Bars of the charts when they are not per project.
    pub fn bar(&self) -> Style {
        self.pick(Style::default().fg(Color::Cyan), Style::default())
    }

    /// The `index`-th project's style (legend order).
    pub fn project(&self, index: usize) -> Style {
        self.pick(
            Style::default().fg(PALETTE[index % PALETTE.len()]),
            Style::default(),
        )
    }

    /// Heat-map cell style for level 0–4.
    pub fn heat(&self, level: usize) -> Style {
        match level {
            0 => self.dim(),
            n => self.pick(
                Style::default().fg(HEAT[(n - 1).min(HEAT.len() - 1)]),
                Style::default(),
            ),
        }
    }
}

/// The character standing for the `index`-th project in the timeline when there is no colour
/// (and in the legend, in both modes): A–Z, then a–z, then `+` for the rest.
pub fn project_mark(index: usize) -> char {
    const MARKS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    MARKS.get(index).map_or('+', |&b| char::from(b))
}

/// Heat-map shade for level 0–4, readable without colour.
pub fn heat_char(level: usize) -> char {
    ['·', '░', '▒', '▓', '█'][level.min(4)]
}
