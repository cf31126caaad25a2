"""Inside the model: what each layer would predict (the logit lens) and where each
attention head looks, read from llama.cpp's graph on any supported GGUF."""
