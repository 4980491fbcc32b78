//! Type-erased views without the async hydration path: `.erase()` instead of `.into_any()`.
//!
//! Every `AnyView` keeps a pointer to its inner view's `hydrate_async`, so each `.into_any()`
//! (ours, and the router's on every route) compiles the whole asynchronous hydration of that
//! view tree into the wasm, never run: each island hydrates synchronously (only lazy routes
//! and `#[island(lazy)]` hydrate asynchronously). In islands mode only the erased views inside
//! islands reach the wasm at all; the server-only pages' erasures cost the bundle nothing.
//! [`Hydrate`] wraps a view and changes nothing but that: asked to hydrate asynchronously, it
//! hydrates synchronously (the trait's default), so the chain stops at the wrapper.
//!
//! Use `.erase()` wherever a view's type must be erased, and [`page`] for a route's view.
//! `clippy.toml` refuses a plain `.into_any()` in our code.

use leptos::{
    prelude::*,
    tachys::{
        html::attribute::{any_attribute::AnyAttribute, Attribute},
        hydration::Cursor,
        ssr::StreamBuilder,
        view::{add_attr::AddAnyAttr, Position, PositionState, Render, RenderHtml},
    },
};
use std::future::Future;

/// A view that renders, builds and hydrates exactly like `T`, except that it hydrates
/// synchronously even when asked to hydrate asynchronously.
pub struct Hydrate<T>(pub T);

/// `.erase()`: the view as an `AnyView`, without its async hydration path (see the module).
pub trait Erase: RenderHtml + Sized {
    fn erase(self) -> AnyView;
}

impl<T: RenderHtml + Send + 'static> Erase for T {
    #[allow(clippy::disallowed_methods)] // the one place that may: the wrapper stops the chain
    fn erase(self) -> AnyView {
        Hydrate(self).into_any()
    }
}

/// A route's view (`<Route view=page(HomePage) />`): the router erases every route's view,
/// so this is where the page's own async hydration path is cut.
pub fn page<V: IntoView + 'static>(view: fn() -> V) -> impl Fn() -> Hydrate<V> + Clone + Send + 'static {
    move || Hydrate(view())
}

impl<T: Render> Render for Hydrate<T> {
    type State = T::State;

    fn build(self) -> Self::State {
        self.0.build()
    }

    fn rebuild(self, state: &mut Self::State) {
        self.0.rebuild(state)
    }
}

impl<T: AddAnyAttr> AddAnyAttr for Hydrate<T> {
    type Output<SomeNewAttr: Attribute> = Hydrate<T::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        Hydrate(self.0.add_any_attr(attr))
    }
}

impl<T: RenderHtml> RenderHtml for Hydrate<T> {
    type AsyncOutput = Hydrate<T::AsyncOutput>;
    type Owned = Hydrate<T::Owned>;

    const MIN_LENGTH: usize = T::MIN_LENGTH;
    const EXISTS: bool = T::EXISTS;

    fn dry_resolve(&mut self) {
        self.0.dry_resolve()
    }

    fn resolve(self) -> impl Future<Output = Self::AsyncOutput> + Send {
        let inner = self.0.resolve();
        async move { Hydrate(inner.await) }
    }

    fn html_len(&self) -> usize {
        self.0.html_len()
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0.to_html_with_buf(buf, position, escape, mark_branches, extra_attrs)
    }

    fn to_html_async_with_buf<const OUT_OF_ORDER: bool>(
        self,
        buf: &mut StreamBuilder,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) where
        Self: Sized,
    {
        self.0.to_html_async_with_buf::<OUT_OF_ORDER>(buf, position, escape, mark_branches, extra_attrs)
    }

    fn hydrate<const FROM_SERVER: bool>(self, cursor: &Cursor, position: &PositionState) -> Self::State {
        self.0.hydrate::<FROM_SERVER>(cursor, position)
    }

    // `hydrate_async`: the trait's default, `async { self.hydrate::<true>(..) }`.

    fn into_owned(self) -> Self::Owned {
        Hydrate(self.0.into_owned())
    }
}
