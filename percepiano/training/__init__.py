"""Training the JAX models: batches and crops (``batches``), the compiled steps and optimiser
(``steps``), device meshes (``sharding``), resumable checkpoints (``checkpoint``), the loop
(``train``) and its speed (``bench``)."""
