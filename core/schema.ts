/**
 * The feature schema: the one place that fixes column names and the order of the ONNX input tensor `[N, 6]`.
 * Column names are the official OWID energy dataset names.
 */
export const MODEL_NAME = 'renewable_energy_predictor';

export const FEATURES = [
  'year',
  'population',
  'gdp',
  'primary_energy_consumption',
  'fossil_fuel_consumption',
  'renewables_consumption',
] as const;

export type Feature = (typeof FEATURES)[number];

export const TARGET = 'renewables_share_energy';

export const N_FEATURES = FEATURES.length;

/** Name of the ONNX graph input and output. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'variable';

/** Largest finite float32; values beyond it cannot be fed to the float32 model. */
export const FLOAT32_MAX = 3.4028234663852886e38;
