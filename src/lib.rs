//! rbm-lab: a desktop lab where a Restricted Boltzmann Machine learns MNIST live.
//!
//! Layers: `model` is pure math, `data` reads IDX files, `trainer` owns a
//! model on a background thread and talks through typed messages, `io` reads and writes files,
//! `images` turns numbers into grey pictures, `app` holds the egui views, `cli` the headless commands;
//! `limits` states every size accepted from input, `decimate` thins the histories that grow as
//! training goes on.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod app;
pub mod cli;
pub mod data;
pub mod decimate;
pub mod images;
pub mod io;
pub mod limits;
pub mod model;
pub mod quality;
pub mod threads;
pub mod toy;
pub mod trainer;
