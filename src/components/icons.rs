//! Small inline SVG icons (no icon font, no external files: nothing for the CSP to allow).

use crate::model::DeviceKind;
use leptos::prelude::*;
use crate::components::erase::Erase as _;

/// The icon for a kind of device, named for screen readers.
#[component]
pub fn DeviceIcon(kind: DeviceKind) -> impl IntoView {
    let (name, shape) = match kind {
        DeviceKind::Desktop => (
            "Computer",
            view! {
                <rect x="3" y="4" width="18" height="12" rx="1.5" />
                <path d="M8 20h8M12 16v4" />
            }
            .erase(),
        ),
        DeviceKind::Phone => (
            "Phone",
            view! {
                <rect x="7" y="2.5" width="10" height="19" rx="2" />
                <path d="M11 18.5h2" />
            }
            .erase(),
        ),
        DeviceKind::Tablet => (
            "Tablet",
            view! {
                <rect x="4" y="3" width="16" height="18" rx="2" />
                <path d="M11 18h2" />
            }
            .erase(),
        ),
        DeviceKind::Bot => (
            "Automated client",
            view! {
                <rect x="5" y="8" width="14" height="11" rx="2" />
                <path d="M12 8V4.5M9.5 13h.01M14.5 13h.01M9.5 16h5" />
                <circle cx="12" cy="4" r="1" />
            }
            .erase(),
        ),
        DeviceKind::Other => (
            "Other device",
            view! {
                <circle cx="12" cy="12" r="9" />
                <path d="M3 12h18M12 3c2.5 2.7 3.5 5.7 3.5 9s-1 6.3-3.5 9c-2.5-2.7-3.5-5.7-3.5-9s1-6.3 3.5-9z" />
            }
            .erase(),
        ),
    };
    view! {
        <svg
            class="device-icon"
            role="img"
            aria-label=name
            viewBox="0 0 24 24"
            width="28"
            height="28"
            fill="none"
            stroke="currentColor"
            stroke-width="1.6"
            stroke-linecap="round"
            stroke-linejoin="round"
        >
            {shape}
        </svg>
    }
}
