"""The models on this machine: the library folder, the bundled default model, the course
catalog, and the stamps that remember a verified checksum."""
