"""The code of the A2I custom resource handlers, deployed as one Lambda asset."""
