//! Maps `CoreError` to the Python hierarchy defined in `gradtrade/errors.py`. The classes live in
//! Python so that they can also subclass the matching builtin (`InvalidInput` is a `ValueError`)
//! and so that the Python layers raise the same types. Only error paths pay for the lookup.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::CoreError;

fn build(py: Python<'_>, class: &str, message: String, extra: Option<(u64, u64)>) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let module = py.import("gradtrade.errors")?;
        let cls = module.getattr(class)?;
        let instance = match extra {
            Some((expected, received)) => cls.call1((message.clone(), expected, received))?,
            None => cls.call1((message.clone(),))?,
        };
        Ok(PyErr::from_value(instance))
    })();
    made.unwrap_or_else(|_| PyRuntimeError::new_err(message))
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        Python::attach(|py| match err {
            CoreError::InvalidInput(m) => build(py, "InvalidInput", m, None),
            CoreError::SequenceGap {
                message,
                expected,
                received,
            } => build(py, "SequenceGap", message, Some((expected, received))),
            CoreError::BookNotSynced(m) => build(py, "BookNotSynced", m, None),
            CoreError::InvalidTransition(m) => build(py, "InvalidTransition", m, None),
            CoreError::Overfill(m) => build(py, "Overfill", m, None),
            CoreError::Numerical(m) => build(py, "NumericalError", m, None),
        })
    }
}
