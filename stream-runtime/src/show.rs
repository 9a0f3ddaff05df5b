//! [`Show`]: how records print, in Spark's `toString` format.

use std::fmt::{self, Write};

use crate::Str;

/// Formats a record the way Spark's `print()` shows it: tuples as `(a,1)`, options as
/// `Some(x)` / `None`, sequences as `[a, b]`.
///
/// Implemented for the standard scalar types, strings, [`Str`], tuples up to six fields,
/// `Option`, `Vec` and slices. Implement it for your own record types to `print` them.
///
/// ```
/// use stream_runtime::Show;
/// assert_eq!(("a", 1).show(), "(a,1)");
/// assert_eq!((String::from("k"), (1, Some(2), None::<i32>)).show(), "(k,(1,Some(2),None))");
/// assert_eq!(vec![1, 2].show(), "[1, 2]");
/// ```
pub trait Show {
    /// Writes `self` to `out`.
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result;

    /// `self` as a `String`.
    fn show(&self) -> String {
        let mut s = String::new();
        let _ = self.fmt_show(&mut s);
        s
    }
}

macro_rules! show_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
                write!(out, "{}", self)
            }
        }
    )*};
}
show_display!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    Str,
    crate::Time,
    crate::Duration
);

impl<T: Show + ?Sized> Show for &T {
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
        (**self).fmt_show(out)
    }
}
impl<T: Show + ?Sized> Show for Box<T> {
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
        (**self).fmt_show(out)
    }
}
impl<T: Show + ?Sized> Show for std::sync::Arc<T> {
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
        (**self).fmt_show(out)
    }
}
impl<T: Show> Show for Option<T> {
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
        match self {
            Some(x) => {
                out.write_str("Some(")?;
                x.fmt_show(out)?;
                out.write_char(')')
            }
            None => out.write_str("None"),
        }
    }
}
impl<T: Show> Show for [T] {
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_char('[')?;
        for (i, x) in self.iter().enumerate() {
            if i > 0 {
                out.write_str(", ")?;
            }
            x.fmt_show(out)?;
        }
        out.write_char(']')
    }
}
impl<T: Show> Show for Vec<T> {
    fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
        self.as_slice().fmt_show(out)
    }
}

macro_rules! show_tuple {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: Show $(, $rest: Show)*> Show for ($first, $($rest,)*) {
            #[allow(non_snake_case)]
            fn fmt_show(&self, out: &mut dyn Write) -> fmt::Result {
                let ($first, $($rest,)*) = self;
                out.write_char('(')?;
                $first.fmt_show(out)?;
                $( out.write_char(',')?; $rest.fmt_show(out)?; )*
                out.write_char(')')
            }
        }
    };
}
show_tuple!(A);
show_tuple!(A, B);
show_tuple!(A, B, C);
show_tuple!(A, B, C, D);
show_tuple!(A, B, C, D, E);
show_tuple!(A, B, C, D, E, F);
