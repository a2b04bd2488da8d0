// Importing this module registers the optional engine features (ensembles, USCD) with the
// Engine facade; the CLI and the language server import it once.
import './ensemble';
import './uscd';
