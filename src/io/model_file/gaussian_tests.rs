use super::ModelFileError::BadMetadata;
use super::*;
use crate::model::{ModelSpec, TrainingConfig, VisibleType};

fn gaussian_file() -> ModelFile {
    let (nv, nh) = (6, 3);
    let rbm = Rbm::from_parameters(
        nv,
        nh,
        (0..nv * nh).map(|i| (i as f32 * 0.37).sin()).collect(),
        (0..nv).map(|i| i as f32 * 0.1).collect(),
        vec![0.2, -0.1, 0.05],
    )
    .unwrap();
    let model = GaussianRbm::from_parts(rbm, (0..nv).map(|i| -0.3 * i as f32).collect()).unwrap();
    let standardisation =
        Standardisation { mean: (0..nv).map(|i| 0.05 * i as f32).collect(), scale: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6] };
    let spec = ModelSpec { n_hidden: nh, visible: VisibleType::Gaussian, ..ModelSpec::default() };
    ModelFile::new_gaussian(model, standardisation, ModelMetadata::new("test", 2, 3, TrainingConfig::default(), spec))
}

#[test]
fn a_gaussian_model_round_trips_with_its_variances_and_standardisation() {
    let file = gaussian_file();
    let loaded = model_from_bytes(&model_to_bytes(&file).unwrap()).unwrap();
    assert_eq!(loaded, file);
    let (model, standardisation) = loaded.gaussian_model().unwrap();
    let (original, _) = file.gaussian_model().unwrap();
    let v = [0.3, -0.2, 1.0, 0.0, 0.5, -1.5];
    assert_eq!(model.free_energy(&v).to_bits(), original.free_energy(&v).to_bits());
    assert_eq!(standardisation.scale[5], 0.6);
    // Code made for binary models says what it is given.
    let refused = loaded.require_binary("inpainting").unwrap_err().to_string();
    assert!(refused.contains("Gaussian") && refused.contains("inpainting"), "{refused}");
}

#[test]
fn visible_type_and_gaussian_tensors_must_agree() {
    let mut says_binary = gaussian_file();
    says_binary.metadata.spec.visible = VisibleType::Binary;
    assert!(matches!(model_to_bytes(&says_binary), Err(BadMetadata(_))));
    let mut no_variances = gaussian_file();
    no_variances.gaussian = None;
    assert!(matches!(model_to_bytes(&no_variances), Err(BadMetadata(_))));
    let mut bad_scale = gaussian_file();
    if let Some(parts) = bad_scale.gaussian.as_mut() {
        parts.standardisation.scale[0] = 0.0;
    }
    assert!(matches!(model_to_bytes(&bad_scale), Err(BadMetadata(_))));
}

/// A file written before models had a visible type (its spec has no `visible`) loads as binary.
#[test]
fn files_without_a_visible_type_load_as_binary() {
    let spec = ModelSpec { n_hidden: 3, ..ModelSpec::default() };
    let file = ModelFile::new(Rbm::zeros(6, 3), ModelMetadata::new("test", 2, 3, TrainingConfig::default(), spec));
    let bytes = model_to_bytes(&file).unwrap();
    // Rewrite the header with `visible` taken out of the spec, as older builds wrote it.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let entry = header["__metadata__"][METADATA_KEY].as_str().unwrap().to_owned();
    let mut metadata: serde_json::Value = serde_json::from_str(&entry).unwrap();
    assert!(metadata["spec"].as_object_mut().unwrap().remove("visible").is_some());
    header["__metadata__"][METADATA_KEY] = serde_json::Value::String(metadata.to_string());
    let mut json = serde_json::to_vec(&header).unwrap();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut old = (json.len() as u64).to_le_bytes().to_vec();
    old.extend_from_slice(&json);
    old.extend_from_slice(&bytes[8 + header_len..]);
    let loaded = model_from_bytes(&old).unwrap();
    assert_eq!(loaded.metadata.spec.visible, VisibleType::Binary);
    assert_eq!(loaded.gaussian, None);
    assert_eq!(loaded.rbm, file.rbm);
    assert!(loaded.require_binary("inpainting").is_ok());
}
