//! Maps `CoreError` to the Python hierarchy defined in `gradtrade/errors.py`. The classes live in
//! Python so that they can also subclass the matching builtin (`InvalidInput` is a `ValueError`)
//! and so that the Python layers raise the same types.
//!
//! Invariant: the classes are resolved once, when `gradtrade._core` is imported (`init`); if
//! `gradtrade.errors` cannot be imported or lacks a class, the import of the extension fails.
//! At error time each variant picks its class with a `match`: no lookup by name, no fallback.
//! `gradtrade/errors.py` imports nothing from `_core`, so there is no import cycle.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use super::CoreError;

/// One field per `CoreError` variant.
struct ErrorClasses {
    invalid_input: Py<PyType>,
    sequence_gap: Py<PyType>,
    book_not_synced: Py<PyType>,
    invalid_transition: Py<PyType>,
    overfill: Py<PyType>,
    numerical: Py<PyType>,
}

static CLASSES: PyOnceLock<ErrorClasses> = PyOnceLock::new();

fn load(py: Python<'_>) -> PyResult<ErrorClasses> {
    let module = py.import("gradtrade.errors")?;
    let class = |name: &str| -> PyResult<Py<PyType>> {
        Ok(module.getattr(name)?.cast_into::<PyType>()?.unbind())
    };
    Ok(ErrorClasses {
        invalid_input: class("InvalidInput")?,
        sequence_gap: class("SequenceGap")?,
        book_not_synced: class("BookNotSynced")?,
        invalid_transition: class("InvalidTransition")?,
        overfill: class("Overfill")?,
        numerical: class("NumericalError")?,
    })
}

fn classes(py: Python<'_>) -> PyResult<&'static ErrorClasses> {
    CLASSES.get_or_try_init(py, || load(py))
}

/// Resolves the classes; called from the module's `#[pymodule_init]`.
pub fn init(py: Python<'_>) -> PyResult<()> {
    classes(py).map(|_| ())
}

fn to_pyerr(py: Python<'_>, err: CoreError) -> PyErr {
    // `init` ran when the module was imported, so this is a read; were it somehow not, the
    // import error itself is returned rather than a substitute class.
    let classes = match classes(py) {
        Ok(classes) => classes,
        Err(import_error) => return import_error,
    };
    let class = |c: &Py<PyType>| c.bind(py).clone();
    match err {
        CoreError::InvalidInput(m) => PyErr::from_type(class(&classes.invalid_input), (m,)),
        CoreError::SequenceGap {
            message,
            expected,
            received,
        } => PyErr::from_type(class(&classes.sequence_gap), (message, expected, received)),
        CoreError::BookNotSynced(m) => PyErr::from_type(class(&classes.book_not_synced), (m,)),
        CoreError::InvalidTransition(m) => {
            PyErr::from_type(class(&classes.invalid_transition), (m,))
        }
        CoreError::Overfill(m) => PyErr::from_type(class(&classes.overfill), (m,)),
        CoreError::Numerical(m) => PyErr::from_type(class(&classes.numerical), (m,)),
    }
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        Python::attach(|py| to_pyerr(py, err))
    }
}
