"""Raw files: finding them (`discover`), opening only regular files inside the input folder,
hashed as they are read and checked for changes afterwards (`files`), decompressing by content
(`compression`), and cutting text into lines in bounded memory (`lines`)."""
