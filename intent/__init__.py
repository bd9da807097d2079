"""What a physician's free text at the menu asks for: the directory, a procedure, a legal
question, or nothing the assistant knows (`intent.reader.read`)."""
